"""The demo platform's behaviour, independent of HTTP.

Reads return the contract models from :mod:`bastion.platform.models`, so the
JSON the demo serves is by construction what the connector parses. Actions
go through :meth:`DemoPlatformService.perform`, which implements the
contract's idempotency rules.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bastion.dev.platform.db import (
    AccountRow,
    ActionRow,
    DeviceRow,
    HostingRow,
    LocationRow,
    LoginRow,
    PostRow,
    PreservationRow,
)
from bastion.platform.models import (
    Account,
    AccountMatch,
    ActionOutcome,
    ActionResult,
    Content,
    Device,
    HostingDetails,
    Location,
    LoginEvent,
    LookupKind,
    PreservationSnapshot,
    SubscriberInfo,
)

__all__ = [
    "ActionKind",
    "DemoPlatformService",
    "IdempotencyConflict",
    "NotFound",
    "Page",
    "ReceivedAction",
]

ActionKind = Literal["remove_content", "restrict_account", "preserve_account", "restore_content",
                     "lift_restriction", "notify_account"]
_T = TypeVar("_T")

_LINK_RE = re.compile(r"https?://[^\s<>\"']+")
_STATUS_RANK = {"active": 0, "limited": 1, "suspended": 2}
_KIND_TO_STATUS = {"limit": "limited", "suspend": "suspended"}


class NotFound(Exception):
    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} {ident!r} not found")


class IdempotencyConflict(Exception):
    """The key was already used for a *different* request."""


@dataclass(frozen=True)
class Page:
    items: Sequence[Any]
    next_cursor: str | None


@dataclass(frozen=True)
class ReceivedAction:
    """One distinct action as the platform recorded it (for test assertions)."""

    action_id: str
    kind: str
    target_id: str
    idempotency_key: str
    params: dict[str, Any]
    received_at: datetime
    replay_count: int


def extract_links(text: str) -> tuple[str, ...]:
    return tuple(m.group(0).rstrip(".,;:!?)") for m in _LINK_RE.finditer(text))


def _in_range(column: Any, since: datetime | None, until: datetime | None) -> list[Any]:
    clauses = []
    if since is not None:
        clauses.append(column >= since)
    if until is not None:
        clauses.append(column < until)
    return clauses


class DemoPlatformService:
    def __init__(self, engine: Engine, clock: Callable[[], float]) -> None:
        self._engine = engine
        self._clock = clock
        self._action_lock = threading.Lock()  # serialises check-then-apply per key

    def now(self) -> datetime:
        return datetime.fromtimestamp(int(self._clock()), UTC)

    def session(self) -> Session:
        return Session(self._engine, expire_on_commit=False)

    # -- reads ----------------------------------------------------------------

    def accounts(self) -> list[Account]:
        with self.session() as s:
            return [_account(row) for row in s.scalars(select(AccountRow).order_by(AccountRow.id))]

    def account(self, account_id: str) -> Account:
        with self.session() as s:
            return _account(self._get_account(s, account_id))

    def lookup(self, kind: LookupKind, value: str) -> list[AccountMatch]:
        """Accounts an identifier matches: a username without its "@" and any case, an email
        in any case, a phone number by its digits (so "+1 (202) 555-0102" finds "+1-202-555-0102")."""
        wanted = _normalise(kind, value)
        if not wanted:
            return []
        with self.session() as s:
            rows = s.scalars(select(AccountRow).order_by(AccountRow.id))
            return [_match(row, kind) for row in rows if _normalise(kind, _field(row, kind)) == wanted]

    def content(self, content_id: str) -> Content:
        with self.session() as s:
            return _content(self._get_post(s, content_id))

    def media(self, content_id: str) -> tuple[bytes, str]:
        with self.session() as s:
            post = self._get_post(s, content_id)
            if post.media is None:
                raise NotFound("media of content", content_id)
            return post.media, post.media_type or "application/octet-stream"

    def hosting(self, content_id: str) -> HostingDetails:
        with self.session() as s:
            post = self._get_post(s, content_id)
            if post.hosting is None:
                raise NotFound("hosting record of content", content_id)
            return _hosting(post.hosting)

    def subscriber(self, account_id: str) -> SubscriberInfo:
        with self.session() as s:
            return _subscriber(self._get_account(s, account_id))

    def posts(
        self,
        account_id: str,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        offset: int,
    ) -> Page:
        with self.session() as s:
            self._get_account(s, account_id)
            query = (
                select(PostRow)
                .where(
                    PostRow.account_id == account_id, *_in_range(PostRow.created_at, since, until)
                )
                .order_by(PostRow.created_at, PostRow.id)
            )
            return _page(s, query, limit, offset, _content)

    def logins(
        self,
        account_id: str,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        offset: int,
    ) -> Page:
        with self.session() as s:
            self._get_account(s, account_id)
            query = (
                select(LoginRow)
                .where(
                    LoginRow.account_id == account_id, *_in_range(LoginRow.timestamp, since, until)
                )
                .order_by(LoginRow.timestamp, LoginRow.id)
            )
            return _page(s, query, limit, offset, _login)

    def devices(self, account_id: str, limit: int, offset: int) -> Page:
        with self.session() as s:
            self._get_account(s, account_id)
            query = (
                select(DeviceRow)
                .where(DeviceRow.account_id == account_id)
                .order_by(DeviceRow.first_seen_at, DeviceRow.id)
            )
            return _page(s, query, limit, offset, _device)

    def locations(
        self,
        account_id: str,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        offset: int,
    ) -> Page:
        with self.session() as s:
            self._get_account(s, account_id)
            query = (
                select(LocationRow)
                .where(
                    LocationRow.account_id == account_id,
                    *_in_range(LocationRow.timestamp, since, until),
                )
                .order_by(LocationRow.timestamp, LocationRow.id)
            )
            return _page(s, query, limit, offset, _location)

    def received_actions(self) -> list[ReceivedAction]:
        with self.session() as s:
            rows = s.scalars(select(ActionRow).order_by(ActionRow.seq))
            return [
                ReceivedAction(
                    action_id=row.id,
                    kind=row.kind,
                    target_id=row.target_id,
                    idempotency_key=row.idempotency_key,
                    params=json.loads(row.params_json),
                    received_at=row.received_at,
                    replay_count=row.replay_count,
                )
                for row in rows
            ]

    # -- actions ----------------------------------------------------------------

    def perform(
        self,
        kind: ActionKind,
        target_id: str,
        params: dict[str, Any],
        idempotency_key: str,
    ) -> tuple[dict[str, Any], bool]:
        """Apply an action once per key; return ``(response_json, replayed)``.

        A failed action (e.g. unknown target) is not recorded, so the same key
        may be retried after the cause is fixed.
        """
        params_json = json.dumps(params, sort_keys=True, separators=(",", ":"))
        fingerprint = hashlib.sha256(f"{kind}\n{target_id}\n{params_json}".encode()).hexdigest()
        with self._action_lock, self.session() as s, s.begin():
            previous = s.scalar(
                select(ActionRow).where(ActionRow.idempotency_key == idempotency_key)
            )
            if previous is not None:
                if previous.fingerprint != fingerprint:
                    raise IdempotencyConflict(
                        "Idempotency-Key was already used for a different request"
                    )
                previous.replay_count += 1
                return json.loads(previous.response_json), True

            now = self.now()
            action_id = f"act-{uuid.uuid4().hex[:16]}"
            if kind == "remove_content":
                response = self._remove(s, action_id, target_id, params["reason"], now)
            elif kind == "restrict_account":
                response = self._restrict(s, action_id, target_id, params, now)
            elif kind == "restore_content":
                response = self._restore(s, action_id, target_id, now)
            elif kind == "lift_restriction":
                response = self._lift(s, action_id, target_id, now)
            elif kind == "notify_account":
                account = self._get_account(s, target_id)
                response = _result(action_id, kind, target_id, "applied", account.status, now)
            else:
                response = self._preserve(s, target_id, now)
            s.add(
                ActionRow(
                    id=action_id,
                    idempotency_key=idempotency_key,
                    kind=kind,
                    target_id=target_id,
                    params_json=params_json,
                    fingerprint=fingerprint,
                    response_json=json.dumps(response),
                    received_at=now,
                    replay_count=0,
                )
            )
            return response, False

    def _remove(
        self, s: Session, action_id: str, content_id: str, reason: str, now: datetime
    ) -> dict[str, Any]:
        post = self._get_post(s, content_id)
        outcome: ActionOutcome = "no_change"
        if post.status != "removed":
            post.status, post.removal_reason, post.removed_at = "removed", reason, now
            outcome = "applied"
        return ActionResult(
            action_id=action_id,
            action="remove_content",
            target_id=content_id,
            outcome=outcome,
            status=post.status,
            performed_at=now,
        ).model_dump(mode="json", exclude={"replayed"})

    def _restrict(
        self, s: Session, action_id: str, account_id: str, params: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        account = self._get_account(s, account_id)
        wanted = _KIND_TO_STATUS[params["kind"]]
        outcome: ActionOutcome = "no_change"
        if _STATUS_RANK[wanted] > _STATUS_RANK[account.status]:  # never downgrade
            account.status, account.status_reason, account.status_changed_at = (
                wanted,
                params["reason"],
                now,
            )
            outcome = "applied"
        return ActionResult(
            action_id=action_id,
            action="restrict_account",
            target_id=account_id,
            outcome=outcome,
            status=account.status,
            performed_at=now,
        ).model_dump(mode="json", exclude={"replayed"})

    def _restore(self, s: Session, action_id: str, content_id: str, now: datetime) -> dict[str, Any]:
        post = self._get_post(s, content_id)
        outcome: ActionOutcome = "no_change"
        if post.status == "removed":
            post.status, post.removal_reason, post.removed_at = "visible", None, None
            outcome = "applied"
        return _result(action_id, "restore_content", content_id, outcome, post.status, now)

    def _lift(self, s: Session, action_id: str, account_id: str, now: datetime) -> dict[str, Any]:
        account = self._get_account(s, account_id)
        outcome: ActionOutcome = "no_change"
        if account.status != "active":
            account.status, account.status_reason, account.status_changed_at = "active", None, now
            outcome = "applied"
        return _result(action_id, "lift_restriction", account_id, outcome, account.status, now)

    def notices(self, account_id: str) -> list[dict[str, Any]]:
        """The notices delivered to an account, oldest first (what the user would see in the app)."""
        return [a.params for a in self.received_actions() if a.kind == "notify_account" and a.target_id == account_id]

    def _preserve(self, s: Session, account_id: str, now: datetime) -> dict[str, Any]:
        account = self._get_account(s, account_id)
        posts = list(account.posts)
        snapshot = PreservationSnapshot(
            preservation_id=f"pres-{uuid.uuid4().hex[:16]}",
            account_id=account_id,
            preserved_at=now,
            subscriber=_subscriber(account),
            posts=tuple(_content(p) for p in posts),
            logins=tuple(
                _login(r)
                for r in s.scalars(
                    select(LoginRow)
                    .where(LoginRow.account_id == account_id)
                    .order_by(LoginRow.timestamp, LoginRow.id)
                )
            ),
            devices=tuple(
                _device(r)
                for r in s.scalars(
                    select(DeviceRow)
                    .where(DeviceRow.account_id == account_id)
                    .order_by(DeviceRow.first_seen_at, DeviceRow.id)
                )
            ),
            locations=tuple(
                _location(r)
                for r in s.scalars(
                    select(LocationRow)
                    .where(LocationRow.account_id == account_id)
                    .order_by(LocationRow.timestamp, LocationRow.id)
                )
            ),
            hosting=tuple(_hosting(p.hosting) for p in posts if p.hosting is not None),
        )
        body = snapshot.model_dump(mode="json", exclude={"replayed"})
        s.add(
            PreservationRow(
                id=snapshot.preservation_id,
                account_id=account_id,
                preserved_at=now,
                snapshot_json=json.dumps(body),
            )
        )
        return body

    # -- helpers ------------------------------------------------------------------

    @staticmethod
    def _get_account(s: Session, account_id: str) -> AccountRow:
        row = s.get(AccountRow, account_id)
        if row is None:
            raise NotFound("account", account_id)
        return row

    @staticmethod
    def _get_post(s: Session, content_id: str) -> PostRow:
        row = s.get(PostRow, content_id)
        if row is None:
            raise NotFound("content", content_id)
        return row


def _result(action_id: str, action: Any, target_id: str, outcome: ActionOutcome, status: str,
            now: datetime) -> dict[str, Any]:
    return ActionResult(action_id=action_id, action=action, target_id=target_id, outcome=outcome, status=status,
                        performed_at=now).model_dump(mode="json", exclude={"replayed"})


def _page(s: Session, query: Any, limit: int, offset: int, convert: Callable[[Any], _T]) -> Page:
    rows = list(s.scalars(query.offset(offset).limit(limit + 1)))
    more = len(rows) > limit
    return Page(
        items=[convert(row) for row in rows[:limit]],
        next_cursor=str(offset + limit) if more else None,
    )


def _account(row: AccountRow) -> Account:
    return Account(
        account_id=row.id,
        username=row.username,
        display_name=row.display_name,
        status=row.status,  # type: ignore[arg-type]
        created_at=row.created_at,
    )


def _content(row: PostRow) -> Content:
    has_media = row.media is not None
    return Content(
        content_id=row.id,
        account_id=row.account_id,
        created_at=row.created_at,
        status=row.status,  # type: ignore[arg-type]
        text=row.text,
        links=extract_links(row.text),
        media_url=f"/v1/content/{row.id}/media" if has_media else None,
        media_type=row.media_type if has_media else None,
        media_size=len(row.media) if row.media is not None else None,
        media_sha256=row.media_sha256 if has_media else None,
    )


def _field(row: AccountRow, kind: LookupKind) -> str:
    return {"username": row.username, "email": row.email, "phone": row.phone}[kind] or ""


def _normalise(kind: LookupKind, value: str) -> str:
    value = value.strip()
    if kind == "phone":
        digits = "".join(ch for ch in value if ch.isdigit())
        return digits[2:] if value.startswith("00") else digits
    return value.lstrip("@").casefold() if kind == "username" else value.casefold()


def _match(row: AccountRow, kind: LookupKind) -> AccountMatch:
    return AccountMatch(
        account_id=row.id,
        username=row.username,
        display_name=row.display_name,
        status=row.status,  # type: ignore[arg-type]
        created_at=row.created_at,
        matched_on=kind,
    )


def _subscriber(row: AccountRow) -> SubscriberInfo:
    return SubscriberInfo(
        account_id=row.id,
        username=row.username,
        display_name=row.display_name,
        email=row.email,
        phone=row.phone,
        created_at=row.created_at,
        status=row.status,  # type: ignore[arg-type]
        registration_ip=row.registration_ip,  # type: ignore[arg-type]
    )


def _login(row: LoginRow) -> LoginEvent:
    return LoginEvent(
        ip=row.ip,  # type: ignore[arg-type]
        port=row.port,
        timestamp=row.timestamp,
        event=row.event,
        user_agent=row.user_agent,
    )


def _device(row: DeviceRow) -> Device:
    return Device(
        device_id=row.id,
        platform=row.platform,
        model=row.model,
        first_seen_at=row.first_seen_at,
        last_seen_at=row.last_seen_at,
    )


def _location(row: LocationRow) -> Location:
    return Location(
        timestamp=row.timestamp,
        latitude=row.latitude,
        longitude=row.longitude,
        accuracy_m=row.accuracy_m,
        source=row.source,
    )


def _hosting(row: HostingRow) -> HostingDetails:
    return HostingDetails(
        content_id=row.content_id,
        server_id=row.server_id,
        datacenter=row.datacenter,
        region=row.region,
        storage_path=row.storage_path,
        cdn_node=row.cdn_node,
    )
