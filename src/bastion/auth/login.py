"""Password and second-factor checks, with per-account throttling.

After `max_failures` consecutive failures (passwords and second-factor codes both
count) the account is locked for `lockout`; every attempt, good or bad, is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from bastion import audit
from bastion.auth import totp
from bastion.auth.errors import AccountThrottled, InvalidCredentials, InvalidSecondFactor
from bastion.auth.models import User
from bastion.auth.passwords import hash_password, needs_rehash, verify_password
from bastion.auth.roles import MACHINE_ROLES, MFA_REQUIRED, Role
from bastion.auth.users import find_user
from bastion.clock import Clock


@dataclass(frozen=True)
class Throttle:
    max_failures: int
    lockout: timedelta


def authenticate_password(
    session: Session, username: str, password: str, *, ip: str, throttle: Throttle, clock: Clock
) -> User:
    """The user if the password is right; raises and audits otherwise.

    The caller commits in every case: a failed attempt must be recorded even though
    the login is refused.
    """
    user = find_user(session, username)
    _refuse_if_locked(session, user, ip=ip, clock=clock)
    usable = user is not None and not user.disabled and Role(user.role) not in MACHINE_ROLES
    if not (verify_password(user.password_hash if user else None, password) and usable):
        _fail(session, user, username, "password", ip=ip, throttle=throttle, clock=clock)
        raise InvalidCredentials()
    assert user is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    audit.record(session, actor=user.username, action="auth.password_ok", subject=f"user:{user.id}",
                 details={"ip": ip}, clock=clock)
    return user


def verify_second_factor(
    session: Session, user: User, code: str, *, instance_secret: bytes, ip: str, throttle: Throttle, clock: Clock
) -> None:
    """Accept a TOTP code once; a wrong or replayed code counts as a failed login."""
    _refuse_if_locked(session, user, ip=ip, clock=clock)
    secret = totp.decrypt_secret(user.totp_secret, instance_secret) if user.totp_secret else ""
    step = totp.accepted_step(secret, code, clock.now().timestamp(), user.totp_last_step) if secret else None
    if step is None:
        _fail(session, user, user.username, "second_factor", ip=ip, throttle=throttle, clock=clock)
        raise InvalidSecondFactor()
    user.totp_last_step = step
    user.failed_logins = 0
    user.last_login_at = clock.now()
    audit.record(session, actor=user.username, action="auth.login", subject=f"user:{user.id}",
                 details={"ip": ip, "second_factor": True}, clock=clock)


def complete_without_second_factor(session: Session, user: User, *, ip: str, clock: Clock) -> None:
    """Finish a password-only login for a role that may log in without a second factor."""
    user.last_login_at = clock.now()
    audit.record(session, actor=user.username, action="auth.login", subject=f"user:{user.id}",
                 details={"ip": ip, "second_factor": False}, clock=clock)


def second_factor_needed(user: User) -> bool:
    """Whether this login must pass a TOTP check: enrolled users always, MFA roles must enrol."""
    return user.totp_enabled or Role(user.role) in MFA_REQUIRED


def _refuse_if_locked(session: Session, user: User | None, *, ip: str, clock: Clock) -> None:
    if user is None or user.locked_until is None:
        return
    remaining = (user.locked_until - clock.now()).total_seconds()
    if remaining > 0:
        audit.record(session, actor=user.username, action="auth.throttled", subject=f"user:{user.id}",
                     details={"ip": ip}, clock=clock)
        raise AccountThrottled(int(remaining))
    user.locked_until = None
    user.failed_logins = 0


def _fail(
    session: Session, user: User | None, username: str, stage: str, *, ip: str, throttle: Throttle, clock: Clock
) -> None:
    details: dict[str, object] = {"ip": ip, "stage": stage}
    if user is not None:
        user.failed_logins += 1
        details["failures"] = user.failed_logins
        if user.failed_logins >= throttle.max_failures:
            user.locked_until = clock.now() + throttle.lockout
            details["locked_until"] = user.locked_until.isoformat()
    audit.record(session, actor=username[:200], action="auth.login_failed",
                 subject=f"user:{user.id}" if user else "", details=details, clock=clock)
