"""Counting failed attempts per target (account, address, device) with progressive delays and lockout.

Written by hand because the rule is ours: counters live in the database (so every process and
replica sees them and they survive restarts), time is the injected clock, and what is counted is
chosen by the caller (`bastion.auth.login` says which targets an attempt touches and why). Rate-limit
libraries count requests per key in process memory or Redis, which is not the same thing.

After `free` failures, each further failure makes the target wait before the next attempt
(2 s, 4 s, 8 s, ... capped at the lockout); at `limit` failures it is locked for the lockout. A
quiet `window` without failures forgets the count. Nothing sleeps: an attempt that comes too early
is refused with the time to wait (HTTP 429 and `Retry-After`), and it is not counted again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.orm import Session

from bastion.auth.errors import AccountThrottled
from bastion.auth.models import AuthThrottle


@dataclass(frozen=True)
class Policy:
    """How many failures each kind of target gets, and how long they wait."""

    account_failures: int = 5
    ip_failures: int = 20
    lockout: timedelta = timedelta(minutes=15)
    window: timedelta = timedelta(hours=1)
    free_failures: int = 2
    first_delay: timedelta = timedelta(seconds=2)


#: Scopes counted against the per-address limit; every other scope gets the per-account limit.
ADDRESS_SCOPES = frozenset({"ip", "mfa_ip", "reset_ip", "register_ip"})


@dataclass(frozen=True)
class Target:
    """One thing failures are counted against: `scope` says what kind, `key` which one."""

    scope: str
    key: str

    @property
    def key_hash(self) -> str:
        return hashlib.sha256(f"{self.scope}\x00{self.key}".encode()).hexdigest()

    def limit(self, policy: Policy) -> int:
        return policy.ip_failures if self.scope in ADDRESS_SCOPES else policy.account_failures


def _matching(targets: list[Target]) -> ColumnElement[bool]:
    """The targets' rows as OR-ed equalities: both databases probe the unique index for each (a row-value
    IN list is a scan of the whole table on SQLite)."""
    return or_(*(and_(AuthThrottle.scope == t.scope, AuthThrottle.key_hash == t.key_hash) for t in targets))


def _rows(session: Session, targets: list[Target], *, lock: bool = False) -> list[AuthThrottle]:
    if not targets:
        return []
    query = select(AuthThrottle).where(_matching(targets))
    if lock:  # always the same order, so two processes never wait on each other's rows crosswise
        query = query.order_by(AuthThrottle.scope, AuthThrottle.key_hash).with_for_update()
    return list(session.scalars(query))


def wait_seconds(session: Session, targets: list[Target], now: datetime) -> int:
    """How long the most restricted target must still wait (0: try now)."""
    waits = [(row.blocked_until - now).total_seconds() for row in _rows(session, targets)
             if row.blocked_until is not None and row.blocked_until > now]
    return int(max(waits)) + 1 if waits else 0


def refuse_if_blocked(session: Session, targets: list[Target], now: datetime) -> None:
    """Raise `AccountThrottled` (429, Retry-After) if any target must still wait."""
    wait = wait_seconds(session, targets, now)
    if wait:
        raise AccountThrottled(wait)


def _ensure_rows(session: Session, targets: list[Target]) -> None:
    """Create missing counters without racing another process that creates the same one."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    for target in sorted(targets, key=lambda t: (t.scope, t.key_hash)):
        session.execute(insert(AuthThrottle).values(scope=target.scope, key_hash=target.key_hash, failures=0)
                        .on_conflict_do_nothing(index_elements=["scope", "key_hash"]))


def delay_after(failures: int, limit: int, policy: Policy) -> timedelta | None:
    """How long a target waits after its `failures`-th consecutive failure."""
    if failures >= limit:
        return policy.lockout
    if failures > policy.free_failures:
        return min(policy.first_delay * 2 ** (failures - policy.free_failures - 1), policy.lockout)
    return None


def count_failure(session: Session, targets: list[Target], policy: Policy, now: datetime) -> dict[str, Any]:
    """Count one failure against every target; returns what the audit record should say."""
    if not targets:
        return {}
    _ensure_rows(session, targets)
    by_hash = {t.key_hash: t for t in targets}
    summary: dict[str, Any] = {}
    for row in _rows(session, targets, lock=True):
        target = by_hash[row.key_hash]
        if row.last_failure_at is not None and now - row.last_failure_at > policy.window:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        delay = delay_after(row.failures, target.limit(policy), policy)
        row.blocked_until = now + delay if delay else None
        summary[f"{target.scope}_failures"] = row.failures
        if delay and row.failures >= target.limit(policy):
            summary[f"{target.scope}_locked_until"] = row.blocked_until.isoformat()  # type: ignore[union-attr]
    return summary


def clear(session: Session, targets: list[Target]) -> None:
    """Forget the failures of these targets (after a success that proves the secret they guard)."""
    if targets:
        session.execute(delete(AuthThrottle).where(_matching(targets)))


def unlock(session: Session, targets: list[Target]) -> int:
    """An operator lifts the lock on these targets; returns how many counters were removed."""
    rows = _rows(session, targets)
    for row in rows:
        session.delete(row)
    return len(rows)
