"""API keys for machine clients: shown once, stored hashed, scoped, expiring, revocable.

A key looks like `bst_<prefix>_<secret>`; the prefix finds the row, the SHA-256 of the
whole key proves it. Last use is written to the row at most every `TOUCH_INTERVAL` and
to the audit chain on first use and then at most every `AUDIT_INTERVAL`, so a busy
scanner does not turn every request into a write on the audit chain's lock.

Who may mint what:

- a key never carries more than its owner's role holds, nor (when someone mints it for another
  user) more than the minter's own role holds: an admin, denied media on purpose, cannot mint a
  reviewer a key that sees media;
- media and account-data scopes (`permissions.SENSITIVE`) only go on a key its owner mints for
  themself in a browser session with a fresh second-factor code (`step_up`), and such a key lives
  at most `step_up_max` (an hour by default). `Principal.can` checks this again on every use;
- every key expires: `default_lifetime` unless asked otherwise, never beyond `max_lifetime`.
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
from bastion.auth.errors import ApiKeyExpired, NotAuthenticated
from bastion.auth.models import ApiKey, User
from bastion.auth.permissions import SENSITIVE, Perm, grantable_scopes, held_by
from bastion.auth.principal import Principal
from bastion.auth.roles import Role
from bastion.clock import Clock
from bastion.errors import InvalidInput, NotFound, PermissionDenied

PREFIX = "bst"
AUDIT_INTERVAL = timedelta(minutes=10)
TOUCH_INTERVAL = timedelta(seconds=10)


@dataclass(frozen=True)
class Lifetimes:
    """How long keys live (from the settings)."""

    default: timedelta = timedelta(days=90)
    maximum: timedelta = timedelta(days=365)
    step_up_max: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class Minter:
    """Who is minting: a person in a session (their role bounds the key), or the console operator (`role=None`).

    `step_up` is true only when the minter is the owner and has just proven their second factor.
    """

    actor: str
    role: Role | None
    user_id: int | None = None
    step_up: bool = False


@dataclass(frozen=True)
class IssuedKey:
    """A key just created. `secret` is the only copy of the key that will ever exist."""

    secret: str
    row: ApiKey


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def allowed_scopes(owner: User, minter: Minter) -> frozenset[Perm]:
    """What this minter may put on a key for this owner."""
    scopes = grantable_scopes(Role(owner.role))
    if minter.role is not None:
        scopes &= held_by(minter.role)
    if not (minter.step_up and minter.user_id == owner.id):
        scopes -= SENSITIVE
    return scopes


def parse_scopes(owner: User, requested: list[str] | None, minter: Minter) -> frozenset[Perm]:
    """Validate requested scopes; none requested means all this minter may grant, media and account data excepted."""
    allowed = allowed_scopes(owner, minter)
    if not requested:
        return allowed - SENSITIVE
    scopes: set[Perm] = set()
    for name in requested:
        try:
            perm = Perm(name)
        except ValueError:
            raise InvalidInput(f"Unknown scope {name!r}.") from None
        if perm not in grantable_scopes(Role(owner.role)):
            raise InvalidInput(f"Scope {name!r} is not held by role {owner.role!r}; a key cannot exceed its owner.")
        if perm in SENSITIVE and perm not in allowed:
            raise PermissionDenied(
                f"Scope {name!r} reaches media or account data: only its owner can mint such a key, for themself, "
                "with a fresh second-factor code (Account > API keys), and it lives at most an hour.")
        if perm not in allowed:
            raise PermissionDenied(f"Scope {name!r} is beyond your own role ({minter.role}); "
                                   "no one can mint a key with more than they hold themself.")
        scopes.add(perm)
    return frozenset(scopes)


def lifetime_for(scopes: frozenset[Perm], requested: timedelta | None, limits: Lifetimes) -> timedelta:
    """The key's lifetime: as asked, within the maximum (a much shorter one for sensitive scopes)."""
    ceiling = limits.step_up_max if scopes & SENSITIVE else limits.maximum
    chosen = requested if requested is not None else min(limits.default, ceiling)
    if chosen <= timedelta(0):
        raise InvalidInput("A key's lifetime must be positive.")
    if chosen > ceiling:
        raise InvalidInput(f"A key with these scopes may live at most {_human(ceiling)}; ask for less.")
    return chosen


def _human(span: timedelta) -> str:
    if span >= timedelta(days=1):
        return f"{span.days} days"
    return f"{int(span.total_seconds() // 60)} minutes"


def create_key(
    session: Session, owner: User, *, name: str, scopes: list[str] | None, minter: Minter, clock: Clock,
    lifetime: timedelta | None = None, limits: Lifetimes = Lifetimes(),
) -> IssuedKey:
    if owner.disabled:
        raise InvalidInput(f"{owner.username} is disabled; enable the account before giving it a key.")
    granted = parse_scopes(owner, scopes, minter)
    expires_at = clock.now() + lifetime_for(granted, lifetime, limits)
    prefix = secrets.token_hex(4)
    secret = f"{PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    step_up = minter.step_up and minter.user_id == owner.id
    row = ApiKey(
        user_id=owner.id, name=name.strip() or "unnamed", prefix=prefix, key_hash=_digest(secret),
        scopes=" ".join(sorted(granted)), created_at=clock.now(), created_by=minter.actor, expires_at=expires_at,
        step_up=step_up,
    )
    session.add(row)
    session.flush()
    audit.record(session, actor=minter.actor, action="apikey.create", subject=f"apikey:{row.id}",
                 details={"owner": owner.username, "name": row.name, "scopes": sorted(granted),
                          "expires_at": expires_at.isoformat(), "step_up": step_up}, clock=clock)
    return IssuedKey(secret, row)


def revoke_key(session: Session, key_id: int, *, actor: str, clock: Clock, owner_id: int | None = None) -> ApiKey:
    """Revoke a key; with `owner_id`, only one of that user's own keys (others look absent)."""
    row = session.get(ApiKey, key_id)
    if row is None or (owner_id is not None and row.user_id != owner_id):
        raise NotFound(f"No API key with id {key_id}.")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        audit.record(session, actor=actor, action="apikey.revoke", subject=f"apikey:{row.id}",
                     details={"name": row.name}, clock=clock)
    return row


def revoke_step_up_keys(session: Session, user: User, *, actor: str, clock: Clock, reason: str) -> int:
    """Revoke the keys a user minted for themself (after a password change or reset: the proof they rest on moved)."""
    rows = list(session.scalars(select(ApiKey).where(ApiKey.user_id == user.id, ApiKey.step_up.is_(True),
                                                     ApiKey.revoked_at.is_(None))))
    for row in rows:
        row.revoked_at = clock.now()
        audit.record(session, actor=actor, action="apikey.revoke", subject=f"apikey:{row.id}",
                     details={"name": row.name, "reason": reason}, clock=clock)
    return len(rows)


def list_keys(session: Session, owner_id: int | None = None) -> list[tuple[ApiKey, str]]:
    query = select(ApiKey, User.username).join(User, User.id == ApiKey.user_id).order_by(ApiKey.id)
    if owner_id is not None:
        query = query.where(ApiKey.user_id == owner_id)
    return [(key, username) for key, username in session.execute(query).all()]


def status_of(key: ApiKey, clock: Clock) -> str:
    """active, expired or revoked: what the key lists show."""
    if key.revoked_at is not None:
        return "revoked"
    return "expired" if key.expires_at <= clock.now() else "active"


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
    if key.expires_at <= clock.now():
        raise ApiKeyExpired(key.expires_at.strftime("%Y-%m-%d %H:%M UTC"))
    _record_use(session, key, user, ip=ip, clock=clock)
    return Principal(
        user_id=user.id, username=user.username, role=Role(user.role), via="apikey", api_key_id=key.id,
        scopes=frozenset(Perm(s) for s in key.scopes.split() if s in Perm._value2member_map_),
        step_up=key.step_up,
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
