"""API keys for machine clients: shown once, stored hashed, scoped, revocable.

A key looks like `bst_<prefix>_<secret>`; the prefix finds the row, the SHA-256 of the
whole key proves it. Last use is written to the row at most every `TOUCH_INTERVAL` and
to the audit chain on first use and then at most every `AUDIT_INTERVAL`, so a busy
scanner does not turn every request into a write on the audit chain's lock.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.auth.errors import NotAuthenticated
from bastion.auth.models import ApiKey, User
from bastion.auth.permissions import Perm, grantable_scopes
from bastion.auth.principal import Principal
from bastion.auth.roles import Role
from bastion.clock import Clock
from bastion.errors import InvalidInput, NotFound

PREFIX = "bst"
AUDIT_INTERVAL = timedelta(minutes=10)
TOUCH_INTERVAL = timedelta(seconds=10)


@dataclass(frozen=True)
class IssuedKey:
    """A key just created. `secret` is the only copy of the key that will ever exist."""

    secret: str
    row: ApiKey


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(user: User, requested: list[str] | None) -> frozenset[Perm]:
    """Validate requested scopes against the owner's role; none requested means all the role holds."""
    grantable = grantable_scopes(Role(user.role))
    if not requested:
        return grantable
    scopes: set[Perm] = set()
    for name in requested:
        try:
            perm = Perm(name)
        except ValueError:
            raise InvalidInput(f"Unknown scope {name!r}.") from None
        if perm not in grantable:
            raise InvalidInput(f"Scope {name!r} is not held by role {user.role!r}; a key cannot exceed its owner.")
        scopes.add(perm)
    return frozenset(scopes)


def create_key(
    session: Session, user: User, *, name: str, scopes: list[str] | None, actor: str, clock: Clock
) -> IssuedKey:
    granted = parse_scopes(user, scopes)
    prefix = secrets.token_hex(4)
    secret = f"{PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        user_id=user.id, name=name.strip() or "unnamed", prefix=prefix, key_hash=_digest(secret),
        scopes=" ".join(sorted(granted)), created_at=clock.now(), created_by=actor,
    )
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, action="apikey.create", subject=f"apikey:{row.id}",
                 details={"owner": user.username, "name": row.name, "scopes": sorted(granted)}, clock=clock)
    return IssuedKey(secret, row)


def revoke_key(session: Session, key_id: int, *, actor: str, clock: Clock) -> ApiKey:
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"No API key with id {key_id}.")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        audit.record(session, actor=actor, action="apikey.revoke", subject=f"apikey:{row.id}",
                     details={"name": row.name}, clock=clock)
    return row


def list_keys(session: Session) -> list[tuple[ApiKey, str]]:
    rows = session.execute(select(ApiKey, User.username).join(User, User.id == ApiKey.user_id).order_by(ApiKey.id))
    return [(key, username) for key, username in rows.all()]


def authenticate_key(session: Session, presented: str, *, ip: str, clock: Clock) -> Principal:
    """The principal behind a presented key; raises `NotAuthenticated` for anything else."""
    parts = presented.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        raise NotAuthenticated("Malformed API key.")
    found = session.execute(
        select(ApiKey, User).join(User, User.id == ApiKey.user_id).where(ApiKey.prefix == parts[1])
    ).first()
    if found is None or not hmac.compare_digest(found[0].key_hash, _digest(presented.strip())):
        raise NotAuthenticated("Unknown or revoked API key.")
    key, user = found
    if key.revoked_at is not None or user.disabled:
        raise NotAuthenticated("Unknown or revoked API key.")
    _record_use(session, key, user, ip=ip, clock=clock)
    return Principal(
        user_id=user.id, username=user.username, role=Role(user.role), via="apikey", api_key_id=key.id,
        scopes=frozenset(Perm(s) for s in key.scopes.split() if s in Perm._value2member_map_),
    )


def _record_use(session: Session, key: ApiKey, user: User, *, ip: str, clock: Clock) -> None:
    now = clock.now()
    if key.last_used_at is not None and now - key.last_used_at < TOUCH_INTERVAL and key.last_used_ip == ip[:64]:
        return
    key.last_used_at, key.last_used_ip = now, ip[:64]
    if key.last_audited_at is None or now - key.last_audited_at >= AUDIT_INTERVAL:
        audit.record(session, actor=f"{user.username} (key {key.id})", action="apikey.use", subject=f"apikey:{key.id}",
                     details={"ip": ip}, clock=clock)
        key.last_audited_at = now
    session.commit()
