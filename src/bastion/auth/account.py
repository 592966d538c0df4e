"""What a signed-in person does to their own credentials: change the password, mint their own API key.

Both need proof beyond the session cookie, because a stolen or left-open session must not be
enough to take the account over or to carry media out through a key: the current password for a
password change, and a fresh second-factor code wherever one is enrolled. Both proofs are
throttled exactly like a login (`bastion.auth.login`), so neither is a side door for guessing.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from bastion import audit
from bastion.auth import apikeys, login
from bastion.auth.errors import StepUpRequired
from bastion.auth.models import User
from bastion.auth.passwords import check_strength, hash_password, verify_password
from bastion.auth.roles import Role
from bastion.auth.sessions import end_all_sessions
from bastion.auth.throttle import Policy
from bastion.clock import Clock
from bastion.errors import InvalidInput


def change_password(
    session: Session, user: User, *, current: str, new: str, code: str | None, instance_secret: bytes,
    client: login.Client, policy: Policy, clock: Clock,
) -> None:
    """Replace the password; every session and self-minted key of the user ends (the caller starts a fresh session)."""
    check_strength(new)  # before any proof is spent, so a weak choice does not burn the code
    login.confirm_password(session, user, current, client=client, policy=policy, clock=clock,
                           purpose="password_change")
    if user.totp_enabled:
        if not code:
            raise StepUpRequired("Enter the current code from your authenticator app to change your password.")
        login.check_second_factor(session, user, code, instance_secret=instance_secret, client=client, policy=policy,
                                  clock=clock, purpose="password_change")
    if verify_password(user.password_hash, new):
        raise InvalidInput("The new password must differ from the current one.")
    user.password_hash = hash_password(new)
    end_all_sessions(session, user.id)
    revoked = apikeys.revoke_step_up_keys(session, user, actor=user.username, clock=clock, reason="password changed")
    audit.record(session, actor=user.username, action="auth.password_changed", subject=f"user:{user.id}",
                 details={"ip": client.ip, "second_factor": user.totp_enabled, "sessions_ended": True,
                          "own_keys_revoked": revoked}, clock=clock)


def mint_own_key(
    session: Session, user: User, *, name: str, scopes: list[str] | None, code: str, lifetime: timedelta | None,
    instance_secret: bytes, client: login.Client, policy: Policy, limits: apikeys.Lifetimes, clock: Clock,
) -> apikeys.IssuedKey:
    """A key for oneself, after a fresh second-factor code: the only way to a key with media or account data."""
    if not user.totp_enabled:
        raise StepUpRequired("Enrol a second factor before minting your own API keys.")
    if not code:
        raise StepUpRequired()
    login.check_second_factor(session, user, code, instance_secret=instance_secret, client=client, policy=policy,
                              clock=clock, purpose="apikey_mint")
    minter = apikeys.Minter(actor=user.username, role=Role(user.role), user_id=user.id, step_up=True)
    return apikeys.create_key(session, user, name=name, scopes=scopes, minter=minter, clock=clock,
                              lifetime=lifetime, limits=limits)
