"""Officer accounts as legal staff see them: who registered, and approving the ones whose address is confirmed.

An officer's account starts disabled; legal staff approve it once the officer confirmed
their official address (see `legal.portal`). The approval is audited with the address
and agency it was granted for.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.auth import users
from bastion.auth.models import User
from bastion.auth.roles import Role
from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.legal.models import Requester
from bastion.legal.portal import register_officer, requester_for_user


def register(session: Session, *, name: str, email: str, phone: str, password: str, clock: Clock, base_url: str
             ) -> tuple[User, list[str]]:
    """Create an officer's account, disabled until legal staff approve it, and mail the confirmation link.

    Returns the account and warnings for the officer (e.g. that their domain is not in the directory).
    """
    address = email.strip().lower()
    user = users.create_user(session, username=address, role=Role.OFFICER, password=password, email=address,
                             actor=f"officer:{address}", clock=clock)
    user.disabled = True  # until legal staff approve it
    _, _, warnings = register_officer(session, email=email, name=name, phone=phone, clock=clock, base_url=base_url,
                                      user_id=user.id)
    return user, warnings


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
    return user
