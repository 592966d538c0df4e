"""Officer accounts as legal staff see them: who registered, and approving the ones whose address is confirmed.

An officer's account starts disabled; legal staff approve it once the officer confirmed
their official address (see `legal.portal`). The approval is audited with the address
and agency it was granted for.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.auth import throttle, users
from bastion.auth.models import User
from bastion.auth.roles import Role
from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.auth.throttle import Policy, Target
from bastion.legal import notify
from bastion.legal.models import Requester
from bastion.legal.portal import register_officer, requester_for_user


#: Registrations per address and per client address: each one sends mail to an address the sender
#: chose, so they are rationed like failed logins (counted whether or not they succeed).
REGISTRATION_POLICY = Policy(account_failures=3, ip_failures=10, lockout=timedelta(hours=1),
                             window=timedelta(hours=1), free_failures=1, first_delay=timedelta(seconds=30))


def register(session: Session, *, name: str, email: str, phone: str, password: str, clock: Clock, base_url: str,
             client: str = "") -> User | None:
    """Create an officer's account, disabled until legal staff approve it, and mail the confirmation link.

    The answer is the same whether the address is new, already registered, or of a domain no agency
    uses: a registration form must not tell a stranger who has an account here or which domains the
    directory knows. An address that already has an account gets a mail saying so instead of a
    second account. Returns the new account, or None when there was none to create.
    """
    address = email.strip().lower()
    targets = [Target("register_email", address), Target("register_ip", client or "unknown")]
    throttle.refuse_if_blocked(session, targets, clock.now())
    throttle.count_failure(session, targets, REGISTRATION_POLICY, clock.now())
    if session.scalar(select(User).where(User.username == address)) is not None:
        _tell_existing(session, address, base_url, clock)
        return None
    user = users.create_user(session, username=address, role=Role.OFFICER, password=password, email=address,
                             actor=f"officer:{address}", clock=clock)
    user.disabled = True  # until legal staff approve it
    register_officer(session, email=email, name=name, phone=phone, clock=clock, base_url=base_url, user_id=user.id)
    return user


def _tell_existing(session: Session, address: str, base_url: str, clock: Clock) -> None:
    """Someone registered an address that has an account: its owner learns it, the registrant does not."""
    notify.queue(session, to=address, subject="Someone tried to register your address again", clock=clock,
                 kind="legal.officer_exists", subject_ref=f"officer:{address}", actor=f"officer:{address}",
                 text=f"Your address already has an officer account at {base_url.rstrip('/')}/portal. Log in there "
                      "(or ask the legal desk to reset your password). If this was not you, you can ignore this mail.")
    audit.record(session, actor=f"officer:{address}", action="legal.officer.register_again",
                 subject=f"officer:{address}", details={"email": address}, clock=clock)


def list_officers(session: Session) -> list[tuple[User, Requester]]:
    """Every officer account with its registration, newest first."""
    rows = session.execute(select(User, Requester).join(Requester, Requester.user_id == User.id)
                           .where(User.role == Role.OFFICER.value).order_by(User.id.desc())).all()
    return [(user, requester) for user, requester in rows]


def approve_officer(session: Session, user_id: int, *, actor: str, clock: Clock) -> User:
    """Enable an officer account whose official address is confirmed."""
    user = users.get_user(session, user_id)
    requester = requester_for_user(session, user.id)
    if user.role != Role.OFFICER.value or requester.confirmed_at is None:
        raise InvalidInput("Only officers who confirmed their address can be approved.")
    users.set_disabled(session, user, False, actor=actor, clock=clock)
    audit.record(session, actor=actor, action="legal.officer.approve", subject=f"user:{user.id}",
                 details={"email": requester.email, "agency": requester.agency_id}, clock=clock)
    notify.queue(session, to=requester.email, subject="Your officer account is approved", clock=clock,
                 kind="legal.officer_approved", subject_ref=f"legal_requester:{requester.id}", actor=actor,
                 text="Legal staff approved your account for law-enforcement requests. Log in to the portal with "
                      "your address and password; the first login asks you to set up a second factor.")
    return user
