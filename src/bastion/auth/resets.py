"""Password reset links: sent by mail through the outbox, single use, short-lived, stored hashed.

An admin (web page, API or `bastion users reset-password`) starts a reset; the link goes to the
address on the account, never to the admin, so the admin never learns or chooses the password.
A person can also ask for a link themself ("forgot password"); the answer is the same whether or
not the account exists, and requests are throttled per client address.

Holding the link is not always enough. Whoever has the user's second factor enrolled must also enter
a current code to use the link. And a self-service link is never sent for a role that holds media or
account data unless that user has a second factor to prove: for them, a mailbox alone must not be a
way in (an admin-started reset is the path, and such roles still need their second factor to log in).

The link's token is in the queued mail's body until it is sent, so whoever can read the mail outbox
table can read a live link for its short life; `docs/security.md` says so.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bastion import audit
from bastion.auth import apikeys, login, throttle
from bastion.auth.errors import StepUpRequired
from bastion.auth.models import PasswordReset, User
from bastion.auth.passwords import check_strength, hash_password
from bastion.auth.permissions import SENSITIVE, held_by
from bastion.auth.roles import MACHINE_ROLES, Role
from bastion.auth.sessions import end_all_sessions
from bastion.auth.throttle import Policy, Target
from bastion.auth.users import find_user
from bastion.clock import Clock
from bastion.errors import BastionError, InvalidInput
from bastion.mail.outbox import carries_secret

RESET_PATH = "/password/reset"
RESET_MAIL = carries_secret("auth.password_reset")  # the link is blanked from the outbox once sent
#: A second self-service link for the same account within this time is not sent (mail flooding).
RESEND_AFTER = timedelta(minutes=5)


class ResetLinkInvalid(BastionError):
    code = "reset_link_invalid"
    status = 400

    def __init__(self) -> None:
        super().__init__("This reset link is not valid: it was used, replaced by a newer one, or has expired. "
                         "Ask for a new one.")


@dataclass(frozen=True)
class ResetConfig:
    base_url: str
    lifetime: timedelta = timedelta(minutes=60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def holds_sensitive(user: User) -> bool:
    """Whether the user's role reaches media or account data."""
    return bool(held_by(Role(user.role)) & SENSITIVE)


def start_reset(session: Session, user: User, *, actor: str, config: ResetConfig, clock: Clock,
                self_service: bool = False) -> PasswordReset:
    """Queue a reset link to the user's address (earlier unused links stop working)."""
    if Role(user.role) in MACHINE_ROLES:
        raise InvalidInput(f"{user.username} is a machine client: it has API keys, not a password.")
    if user.disabled:
        raise InvalidInput(f"{user.username} is disabled; enable the account first.")
    if not user.email:
        raise InvalidInput(f"{user.username} has no email address, so no reset link can be sent.")
    from bastion.mail import queue_mail

    now = clock.now()
    session.execute(update(PasswordReset).where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
                    .values(used_at=now))
    token = secrets.token_urlsafe(32)
    row = PasswordReset(user_id=user.id, token_hash=_hash(token), created_at=now, created_by=actor[:200],
                        expires_at=now + config.lifetime)
    session.add(row)
    session.flush()
    minutes = int(config.lifetime.total_seconds() // 60)
    link = f"{config.base_url.rstrip('/')}{RESET_PATH}?token={token}"
    needs_code = " You will also need the current code from your authenticator app." if user.totp_enabled else ""
    who = "You asked" if self_service else "An administrator asked"
    queue_mail(session, to=user.email, subject="Reset your Bastion password", kind=RESET_MAIL,
               subject_ref=f"user:{user.id}", actor=actor, clock=clock,
               text=f"{who} to reset the password of {user.username}. Open {link} within {minutes} minutes to choose "
                    f"a new one; the link works once.{needs_code} If you did not expect this, tell your administrator.")
    audit.record(session, actor=actor, action="auth.password_reset_requested", subject=f"user:{user.id}",
                 details={"username": user.username, "expires_at": row.expires_at.isoformat(),
                          "self_service": self_service}, clock=clock)
    return row


def request_self_service(session: Session, identifier: str, *, client: login.Client, policy: Policy,
                         config: ResetConfig, clock: Clock) -> None:
    """"Forgot password": maybe queue a link; the caller answers the same thing whatever happens here.

    Every request counts against the client's address, so this page cannot be used to flood
    mailboxes or to probe for accounts faster than the login form can.
    """
    targets = [Target("reset_ip", client.ip)]
    throttle.refuse_if_blocked(session, targets, clock.now())
    throttle.count_failure(session, targets, policy, clock.now())
    user = find_user(session, identifier) or _by_email(session, identifier)
    reason = _self_service_refusal(session, user, clock)
    if user is not None and reason is None:
        start_reset(session, user, actor=f"{user.username} (self-service)", config=config, clock=clock,
                    self_service=True)
        return
    audit.record(session, actor=identifier.strip()[:200], action="auth.password_reset_refused",
                 subject=f"user:{user.id}" if user else "", details={"ip": client.ip, "reason": reason or "unknown"},
                 clock=clock)


def _by_email(session: Session, identifier: str) -> User | None:
    found = list(session.scalars(select(User).where(User.email == identifier.strip().lower()).limit(2)))
    return found[0] if len(found) == 1 else None


def _self_service_refusal(session: Session, user: User | None, clock: Clock) -> str | None:
    if user is None:
        return "unknown"
    if Role(user.role) in MACHINE_ROLES or user.disabled or not user.email:
        return "not_eligible"
    if holds_sensitive(user) and not user.totp_enabled:
        return "sensitive_role_without_second_factor"
    recent = session.scalar(select(PasswordReset.id).where(
        PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None),
        PasswordReset.created_at > clock.now() - RESEND_AFTER))
    return "recently_sent" if recent else None


def pending(session: Session, token: str, clock: Clock) -> tuple[PasswordReset, User]:
    """The live reset behind a token, and its user; `ResetLinkInvalid` otherwise."""
    row = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _hash(token)))
    user = session.get(User, row.user_id) if row is not None else None
    if row is None or user is None or row.used_at is not None or row.expires_at <= clock.now() or user.disabled:
        raise ResetLinkInvalid()
    return row, user


def complete_reset(session: Session, token: str, new_password: str, code: str | None, *, instance_secret: bytes,
                   client: login.Client, policy: Policy, clock: Clock) -> User:
    """Use a link: set the new password, end every session and self-minted key, clear the account's password lock."""
    check_strength(new_password)
    row, user = pending(session, token, clock)
    if user.totp_enabled:
        if not code:
            raise StepUpRequired("Enter the current code from your authenticator app as well.")
        login.check_second_factor(session, user, code, instance_secret=instance_secret, client=client, policy=policy,
                                  clock=clock, purpose="password_reset")
    row.used_at = clock.now()
    user.password_hash = hash_password(new_password)
    end_all_sessions(session, user.id)
    apikeys.revoke_step_up_keys(session, user, actor=user.username, clock=clock, reason="password reset")
    throttle.clear(session, [Target("account", user.username.lower())])
    audit.record(session, actor=user.username, action="auth.password_reset", subject=f"user:{user.id}",
                 details={"ip": client.ip, "reset_id": row.id, "second_factor": user.totp_enabled}, clock=clock)
    return user
