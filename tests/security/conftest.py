"""The attack suite's harness: a real Bastion over real HTTP on a loopback port, and helpers to script attacks.

Each test runs against SQLite and PostgreSQL (the shared `database_url` fixture). The server runs
with the test's `ManualClock`, so throttles and expiries are crossed by moving the clock, never by
sleeping. The live server believes `X-Forwarded-For` from loopback (uvicorn's default), which is how
a test plays several client addresses; Bastion itself only trusts it from `BASTION_TRUSTED_PROXIES`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pyotp
import pytest

from bastion.clock import ManualClock
from tests.conftest import PASSWORD, TestUser
from tests.livehttp import serve


@dataclass
class Live:
    """A running server and what the tests need to drive it."""

    url: str
    app: Any
    clock: ManualClock

    def client(self, address: str = "198.51.100.7") -> httpx.Client:
        """A fresh HTTP client (no cookies) that appears to come from `address`."""
        return httpx.Client(base_url=self.url, headers={"X-Forwarded-For": address}, timeout=30,
                            follow_redirects=False)


@pytest.fixture
def live(app, clock: ManualClock) -> Iterator[Live]:  # type: ignore[no-untyped-def]
    with serve(app) as url:
        yield Live(url, app, clock)


def login(http: httpx.Client, user: TestUser, clock: ManualClock) -> dict[str, str]:
    """Log in over the JSON API (with a fresh code); returns the CSRF header for later unsafe requests."""
    body: dict[str, str] = {"username": user.username, "password": user.password}
    if user.totp_secret:
        body["totp_code"] = user.code(clock)
    response = http.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}


def current_code(user: TestUser, clock: ManualClock) -> str:
    """The user's code at the server's current time (without moving the clock)."""
    assert user.totp_secret
    return pyotp.TOTP(user.totp_secret).at(clock.now())


def wrong_codes(user: TestUser, clock: ManualClock, count: int) -> list[str]:
    """`count` codes that are not valid now (nor one step either side), as an attacker would guess."""
    assert user.totp_secret
    totp = pyotp.TOTP(user.totp_secret)
    valid = {totp.at(clock.now().timestamp() + drift) for drift in (-30, 0, 30)}
    return [code for code in (f"{n:06d}" for n in range(count + 3)) if code not in valid][:count]


def form_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def api_key(live: Live, admin_http: httpx.Client, csrf: dict[str, str], owner: str, **body: Any) -> str:
    response = admin_http.post("/api/v1/apikeys", json={"owner": owner, "name": "attack", **body}, headers=csrf)
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


__all__ = ["Live", "login", "current_code", "wrong_codes", "form_token", "api_key", "PASSWORD"]


def scanned_match(live: Live, user_factory: Any, seed: int = 41) -> None:
    """A platform uploads a picture that is in a bank: a case with its media in the vault opens."""
    from bastion.auth.roles import Role
    from bastion.media import hash_media
    from tests.detect.images import jpeg

    admin = live.client("192.0.2.1")
    csrf = login(admin, user_factory(Role.ADMIN), live.clock)
    key = api_key(live, admin, csrf, user_factory(Role.PLATFORM).username)
    machine = live.client("192.0.2.10")
    machine.headers["Authorization"] = f"Bearer {key}"
    media = jpeg(seed)
    hashes = hash_media(media)
    assert machine.post("/api/v1/banks", json={"name": "KNOWN"}).status_code in (200, 201)
    added = machine.post("/api/v1/banks/KNOWN/entries", json={"signals": {"pdq": hashes.pdq, "md5": hashes.md5},
                                                               "classification": "A1"})
    assert added.status_code in (200, 201), added.text
    scanned = machine.post("/api/v1/scan", files={"file": ("p.jpg", media)},
                           data={"content_id": f"post-{seed}", "account_id": "uploader-1"})
    assert scanned.status_code == 200 and scanned.json()["matches"], scanned.text
