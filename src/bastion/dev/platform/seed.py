"""Deterministic seed data for the demo platform.

The data is declared here (not randomised) so tests and demos can refer to
known ids, times and values. All contact data and addresses come from
reserved ranges: ``example.com/.net/.org`` (RFC 2606), 555-01xx phone
numbers, and the documentation IP blocks 192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24 and 2001:db8::/32 (RFC 5737, RFC 3849).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.dev.platform.db import (
    AccountRow,
    DeviceRow,
    HostingRow,
    LocationRow,
    LoginRow,
    PostRow,
    make_engine,
)
from bastion.dev.platform.media import MEDIA_TYPES, ImageFormat, render_image

__all__ = [
    "ACCOUNTS",
    "DEFAULT_SEED",
    "DEVICES",
    "LOCATIONS",
    "LOGINS",
    "POSTS",
    "AccountSeed",
    "DeviceSeed",
    "LocationSeed",
    "LoginSeed",
    "PostSeed",
    "seed_demo_platform",
]

DEFAULT_SEED = 20240301


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass(frozen=True)
class AccountSeed:
    account_id: str
    username: str
    display_name: str
    email: str
    phone: str
    created_at: datetime
    registration_ip: str


@dataclass(frozen=True)
class PostSeed:
    content_id: str
    account_id: str
    created_at: datetime
    text: str
    image_format: ImageFormat | None


@dataclass(frozen=True)
class LoginSeed:
    account_id: str
    ip: str
    port: int
    timestamp: datetime
    event: str
    user_agent: str


@dataclass(frozen=True)
class DeviceSeed:
    device_id: str
    account_id: str
    platform: str
    model: str
    first_seen_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class LocationSeed:
    account_id: str
    timestamp: datetime
    latitude: float
    longitude: float
    accuracy_m: float
    source: str


ACCOUNTS: tuple[AccountSeed, ...] = (
    AccountSeed(
        "acct-1001",
        "alice",
        "Alice Example",
        "alice@example.com",
        "+1-202-555-0101",
        _t("2023-06-01T08:00:00"),
        "203.0.113.10",
    ),
    AccountSeed(
        "acct-1002",
        "bob",
        "Bob Sample",
        "bob@example.net",
        "+1-202-555-0102",
        _t("2023-07-15T14:20:00"),
        "198.51.100.23",
    ),
    AccountSeed(
        "acct-1003",
        "carol",
        "Carol Demo",
        "carol@example.org",
        "+1-202-555-0103",
        _t("2023-09-30T22:05:00"),
        "2001:db8::1003",
    ),
    AccountSeed(
        "acct-1004",
        "dave",
        "Dave Placeholder",
        "dave@example.com",
        "+1-202-555-0104",
        _t("2024-01-02T03:04:05"),
        "192.0.2.44",
    ),
)

POSTS: tuple[PostSeed, ...] = (
    PostSeed(
        "post-2001",
        "acct-1001",
        _t("2024-03-01T09:00:00"),
        "Morning gradient, full set at https://example.com/gallery/1",
        "PNG",
    ),
    PostSeed(
        "post-2002",
        "acct-1001",
        _t("2024-03-05T12:30:00"),
        "Circles study https://example.org/circles?ref=demo and http://example.net/a",
        "JPEG",
    ),
    PostSeed("post-2003", "acct-1001", _t("2024-03-10T18:00:00"), "Squares, no links", "PNG"),
    PostSeed(
        "post-2004",
        "acct-1002",
        _t("2024-03-02T07:45:00"),
        "New palette https://example.com/palettes/7",
        "PNG",
    ),
    PostSeed("post-2005", "acct-1002", _t("2024-03-08T21:10:00"), "Just text, no picture", None),
    PostSeed("post-2006", "acct-1003", _t("2024-03-03T11:11:00"), "Teal and orange", "JPEG"),
    PostSeed(
        "post-2007", "acct-1004", _t("2024-03-04T16:00:00"), "See https://example.net/dave", "PNG"
    ),
    PostSeed("post-2008", "acct-1004", _t("2024-03-12T05:30:00"), "Night shapes", "PNG"),
)

_UA_PHONE = "DemoApp/3.2 (Android 14; Pixel 8)"
_UA_WEB = "Mozilla/5.0 (X11; Linux x86_64) DemoBrowser/1.0"

LOGINS: tuple[LoginSeed, ...] = (
    LoginSeed("acct-1001", "198.51.100.7", 51234, _t("2024-02-28T22:00:00"), "login", _UA_WEB),
    LoginSeed("acct-1001", "198.51.100.7", 51234, _t("2024-02-28T23:30:00"), "logout", _UA_WEB),
    LoginSeed("acct-1001", "203.0.113.55", 40001, _t("2024-03-01T08:55:00"), "login", _UA_PHONE),
    LoginSeed(
        "acct-1001", "203.0.113.56", 40002, _t("2024-03-05T12:00:00"), "failed_login", _UA_PHONE
    ),
    LoginSeed(
        "acct-1001",
        "2001:db8:85a3::8a2e:370:7334",
        443,
        _t("2024-03-05T12:01:00"),
        "login",
        _UA_PHONE,
    ),
    LoginSeed("acct-1001", "203.0.113.55", 40077, _t("2024-03-10T17:58:00"), "login", _UA_PHONE),
    LoginSeed("acct-1002", "198.51.100.23", 60000, _t("2024-03-02T07:40:00"), "login", _UA_WEB),
    LoginSeed("acct-1002", "198.51.100.24", 60001, _t("2024-03-08T21:00:00"), "login", _UA_WEB),
    LoginSeed("acct-1003", "2001:db8::1003", 50505, _t("2024-03-03T11:00:00"), "login", _UA_PHONE),
    LoginSeed("acct-1004", "192.0.2.44", 33333, _t("2024-03-04T15:59:00"), "login", _UA_WEB),
)

DEVICES: tuple[DeviceSeed, ...] = (
    DeviceSeed(
        "dev-3001",
        "acct-1001",
        "android",
        "Pixel 8",
        _t("2023-06-01T08:00:00"),
        _t("2024-03-10T17:58:00"),
    ),
    DeviceSeed(
        "dev-3002",
        "acct-1001",
        "web",
        "Firefox on Linux",
        _t("2024-02-28T22:00:00"),
        _t("2024-02-28T23:30:00"),
    ),
    DeviceSeed(
        "dev-3003",
        "acct-1002",
        "ios",
        "iPhone 15",
        _t("2023-07-15T14:20:00"),
        _t("2024-03-08T21:00:00"),
    ),
    DeviceSeed(
        "dev-3004",
        "acct-1004",
        "web",
        "Chrome on Windows",
        _t("2024-01-02T03:04:05"),
        _t("2024-03-12T05:30:00"),
    ),
)

LOCATIONS: tuple[LocationSeed, ...] = (
    LocationSeed("acct-1001", _t("2024-03-01T08:56:00"), 52.5200, 13.4050, 25.0, "gps"),
    LocationSeed("acct-1001", _t("2024-03-05T12:02:00"), 48.1371, 11.5754, 1500.0, "ip"),
    LocationSeed("acct-1001", _t("2024-03-10T17:59:00"), 52.5201, 13.4049, 15.0, "gps"),
    LocationSeed("acct-1002", _t("2024-03-02T07:41:00"), 51.5072, -0.1276, 3000.0, "ip"),
    LocationSeed("acct-1004", _t("2024-03-04T16:01:00"), 40.7128, -74.0060, 50.0, "wifi"),
)

_SITES = (
    ("fra-2", "eu-central"),
    ("iad-1", "us-east"),
    ("sin-1", "ap-southeast"),
)


def _hosting(index: int, post: PostSeed, sha256: str | None) -> HostingRow:
    datacenter, region = _SITES[index % len(_SITES)]
    ext = {"PNG": "png", "JPEG": "jpg"}.get(post.image_format or "", "txt")
    name = sha256 or hashlib.sha256(post.content_id.encode()).hexdigest()
    return HostingRow(
        content_id=post.content_id,
        server_id=f"media-{index % 5 + 1:02d}",
        datacenter=datacenter,
        region=region,
        storage_path=f"s3://demo-media-{region}/{name[:2]}/{name[2:4]}/{name}.{ext}",
        cdn_node=f"cdn-{datacenter}-{index % 3 + 1}",
    )


def seed_demo_platform(db_path: str | Path, *, seed: int = DEFAULT_SEED) -> bool:
    """Create the schema and load the seed data unless accounts already exist.

    Returns ``True`` if data was loaded. ``seed`` only varies the generated
    images; ids, texts and timestamps are fixed.
    """
    engine = make_engine(db_path)
    try:
        with Session(engine) as session, session.begin():
            if session.scalar(select(AccountRow.id).limit(1)) is not None:
                return False
            for account in ACCOUNTS:
                session.add(
                    AccountRow(
                        id=account.account_id,
                        username=account.username,
                        display_name=account.display_name,
                        email=account.email,
                        phone=account.phone,
                        created_at=account.created_at,
                        registration_ip=account.registration_ip,
                        status="active",
                    )
                )
            session.flush()
            for index, post in enumerate(POSTS):
                media = media_type = sha256 = None
                if post.image_format is not None:
                    media = render_image(seed + index, fmt=post.image_format)
                    media_type = MEDIA_TYPES[post.image_format]
                    sha256 = hashlib.sha256(media).hexdigest()
                session.add(
                    PostRow(
                        id=post.content_id,
                        account_id=post.account_id,
                        created_at=post.created_at,
                        text=post.text,
                        status="visible",
                        media=media,
                        media_type=media_type,
                        media_sha256=sha256,
                    )
                )
                session.add(_hosting(index, post, sha256))
            session.add_all(LoginRow(**vars(login)) for login in LOGINS)
            session.add_all(
                DeviceRow(id=d.device_id, **{k: v for k, v in vars(d).items() if k != "device_id"})
                for d in DEVICES
            )
            session.add_all(LocationRow(**vars(location)) for location in LOCATIONS)
        return True
    finally:
        engine.dispose()
