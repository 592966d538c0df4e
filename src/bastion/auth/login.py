"""Password and second-factor checks, each throttled on its own, per account and per client address.

What is counted (see `bastion.auth.throttle` for the delays and the lockout):

- a wrong password counts against the username (known or not, so locks say nothing about which
  accounts exist) and against the client's address (so spraying one password across many accounts
  from one address is slowed and then stopped);
- a wrong second-factor code counts against the account's second factor and the client's address,
  separately from passwords: a correct password never clears second-factor failures;
- a client that presents a device token of the account (`bastion.auth.devices`) is recognised: it is
  not held back by the account's or the address's locks, which an attacker can trigger, only by its
  own counter. So an attacker's failures cannot lock a person out of the browser they always use.

Successes clear the account's (or device's) counters, never the address's: one good login from an
address must not buy it a fresh allowance to spray other accounts. Every attempt is audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from bastion import audit
from bastion.auth import throttle, totp
from bastion.auth.errors import AccountThrottled, InvalidCredentials, InvalidSecondFactor
from bastion.auth.models import User
from bastion.auth.passwords import hash_password, needs_rehash, verify_password
from bastion.auth.roles import MACHINE_ROLES, MFA_REQUIRED, Role
from bastion.auth.throttle import Policy, Target
from bastion.auth.users import find_user
from bastion.clock import Clock

__all__ = ["Client", "Policy", "authenticate_password", "verify_second_factor", "check_second_factor",
           "complete_without_second_factor", "confirm_password", "second_factor_needed", "password_targets", "second_factor_targets"]


@dataclass(frozen=True)
class Client:
    """Who is knocking: the address, and the accounts this client has proven devices for."""

    ip: str
    devices: Mapping[int, str] = field(default_factory=dict)

    def device_for(self, user: User | None) -> str | None:
        return self.devices.get(user.id) if user is not None else None


def password_targets(username: str, user: User | None, client: Client) -> list[Target]:
    """What a password attempt for `username` from `client` counts against."""
    device = client.device_for(user)
    if device:
        return [Target("device", device)]
    return [Target("account", username.strip().lower()[:300]), Target("ip", client.ip)]


def second_factor_targets(user: User, client: Client) -> list[Target]:
    """What a second-factor attempt for `user` from `client` counts against."""
    device = client.device_for(user)
    if device:
        return [Target("mfa_device", device)]
    return [Target("mfa", str(user.id)), Target("mfa_ip", client.ip)]


def authenticate_password(
    session: Session, username: str, password: str, *, client: Client, policy: Policy, clock: Clock
) -> User:
    """The user if the password is right; raises and audits otherwise.

    The caller commits in every case: a failed attempt must be recorded even though
    the login is refused.
    """
    user = find_user(session, username)
    _check_password(session, username, user, password, client=client, policy=policy, clock=clock, stage="password")
    assert user is not None
    audit.record(session, actor=user.username, action="auth.password_ok", subject=f"user:{user.id}",
                 details=_who(client, user), clock=clock)
    return user


def confirm_password(session: Session, user: User, password: str, *, client: Client, policy: Policy, clock: Clock,
                     purpose: str) -> None:
    """Re-check a signed-in user's password (e.g. before changing it), throttled like a login."""
    _check_password(session, user.username, user, password, client=client, policy=policy, clock=clock, stage=purpose)


def _check_password(session: Session, username: str, user: User | None, password: str, *, client: Client,
                    policy: Policy, clock: Clock, stage: str) -> None:
    targets = password_targets(username, user, client)
    _refuse_if_throttled(session, targets, user, username, stage, client=client, clock=clock)
    usable = user is not None and not user.disabled and Role(user.role) not in MACHINE_ROLES
    if not (verify_password(user.password_hash if user else None, password) and usable):
        _fail(session, targets, user, username, stage, client=client, policy=policy, clock=clock)
        raise InvalidCredentials()
    assert user is not None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    throttle.clear(session, [t for t in targets if t.scope != "ip"])


def check_second_factor(
    session: Session, user: User, code: str, *, instance_secret: bytes, client: Client, policy: Policy,
    clock: Clock, purpose: str
) -> None:
    """Accept a TOTP code once, for `purpose`; a wrong or replayed code counts against the second factor.

    Every place that takes a code (login, enrolment, minting a key, changing a password) comes
    through here, so none of them is an unthrottled oracle for guessing codes.
    """
    targets = second_factor_targets(user, client)
    _refuse_if_throttled(session, targets, user, user.username, purpose, client=client, clock=clock)
    secret = totp.decrypt_secret(user.totp_secret, instance_secret) if user.totp_secret else ""
    step = totp.accepted_step(secret, code, clock.now().timestamp(), user.totp_last_step) if secret else None
    if step is None:
        _fail(session, targets, user, user.username, purpose, client=client, policy=policy, clock=clock)
        raise InvalidSecondFactor()
    user.totp_last_step = step
    throttle.clear(session, [t for t in targets if t.scope != "mfa_ip"])


def verify_second_factor(
    session: Session, user: User, code: str, *, instance_secret: bytes, client: Client, policy: Policy, clock: Clock
) -> None:
    """Finish a login with the second factor."""
    check_second_factor(session, user, code, instance_secret=instance_secret, client=client, policy=policy,
                        clock=clock, purpose="second_factor")
    user.last_login_at = clock.now()
    audit.record(session, actor=user.username, action="auth.login", subject=f"user:{user.id}",
                 details={**_who(client, user), "second_factor": True}, clock=clock)


def complete_without_second_factor(session: Session, user: User, *, client: Client, clock: Clock) -> None:
    """Finish a password-only login for a role that may log in without a second factor."""
    user.last_login_at = clock.now()
    audit.record(session, actor=user.username, action="auth.login", subject=f"user:{user.id}",
                 details={**_who(client, user), "second_factor": False}, clock=clock)


def second_factor_needed(user: User) -> bool:
    """Whether this login must pass a TOTP check: enrolled users always, MFA roles must enrol."""
    return user.totp_enabled or Role(user.role) in MFA_REQUIRED


def _who(client: Client, user: User | None) -> dict[str, object]:
    return {"ip": client.ip, "recognised_device": client.device_for(user) is not None}


def _refuse_if_throttled(session: Session, targets: list[Target], user: User | None, username: str, stage: str, *,
                         client: Client, clock: Clock) -> None:
    try:
        throttle.refuse_if_blocked(session, targets, clock.now())
    except AccountThrottled as exc:
        audit.record(session, actor=username[:200], action="auth.throttled",
                     subject=f"user:{user.id}" if user else "",
                     details={**_who(client, user), "stage": stage, "retry_after": exc.retry_after_seconds},
                     clock=clock)
        raise


def _fail(session: Session, targets: list[Target], user: User | None, username: str, stage: str, *, client: Client,
          policy: Policy, clock: Clock) -> None:
    counted = throttle.count_failure(session, targets, policy, clock.now())
    audit.record(session, actor=username[:200], action="auth.login_failed",
                 subject=f"user:{user.id}" if user else "",
                 details={**_who(client, user), "stage": stage, **counted}, clock=clock)
