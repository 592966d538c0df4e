"""Browser sessions: random tokens in an HttpOnly cookie, their SHA-256 in the database."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bastion.auth.models import User, WebSession
from bastion.clock import Clock

#: Sliding expiry is written back at most this often, so reads stay reads.
TOUCH_INTERVAL = timedelta(minutes=1)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewSession:
    """A session just created: the cookie value exists only here, never in the database."""

    token: str
    row: WebSession


def start_session(session: Session, user: User, *, mfa_passed: bool, ip: str, hours: int, clock: Clock) -> NewSession:
    now = clock.now()
    token = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=token_digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        mfa_passed=mfa_passed,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=hours),
        ip=ip[:64],
    )
    session.add(row)
    session.flush()
    return NewSession(token, row)


def load_session(session: Session, token: str, *, hours: int, clock: Clock) -> tuple[WebSession, User] | None:
    """The live session for a cookie value, extending its expiry; None if unknown or expired."""
    row = session.scalar(select(WebSession).where(WebSession.token_hash == token_digest(token)))
    if row is None:
        return None
    now = clock.now()
    user = session.get(User, row.user_id)
    if row.expires_at <= now or user is None or user.disabled:
        session.delete(row)
        session.commit()
        return None
    if now - row.last_seen_at >= TOUCH_INTERVAL:
        row.last_seen_at, row.expires_at = now, now + timedelta(hours=hours)
        session.commit()
    return row, user


def end_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == token_digest(token)))


def end_all_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))
