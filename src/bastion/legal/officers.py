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
from bastion.db.keyset import Page, like_prefix, newest_first, page_size, prefix
from bastion.errors import InvalidInput
from bastion.auth.throttle import Policy, Target
from bastion.legal import directory, notify
from bastion.legal.agencies import agency_of
from bastion.legal.models import Requester
from bastion.legal.portal import register_officer, requester_for_user


CALLBACK_OUTCOMES = ("confirmed", "denied", "no_answer")

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


#: The officer list's account filter, with what the page calls each state.
ACCOUNT_STATES = {"pending": "Pending approval", "active": "Active"}


def officers_page(session: Session, *, email: str = "", state: str = "", cursor: str | None = None,
                  limit: int | None = None) -> Page[tuple[User, Requester]]:
    """Officer accounts, newest first, found by the start of their address (stored lower case, so the search
    is lower-cased against the unique email index) and by whether they still wait for approval."""
    size = page_size(limit)
    query = (select(User, Requester).join(Requester, Requester.user_id == User.id)
             .where(User.role == Role.OFFICER.value))
    start = prefix(email, "email address", 320).lower()
    if start:
        query = query.where(Requester.email >= start, Requester.email.like(like_prefix(start), escape="\\"))
    if state:
        if state not in ACCOUNT_STATES:
            raise InvalidInput(f"There is no account state {state!r}; pick one from the list.")
        query = query.where(User.disabled.is_(state == "pending"))
    return newest_first(session, query, User.id, cursor=cursor, size=size, scalars=False)


def needs_vouching(session: Session, requester: Requester) -> str:
    """Why this address cannot be approved with one click ("" when its domain is an agency's)."""
    domain = directory.email_domain(requester.email)
    if directory.is_free_mail(domain):
        return f"{domain} is a public mail service"
    if not directory.agencies_for_email(session, requester.email):
        return f"{domain} is not the domain of any agency in the directory"
    return ""


def vouch(session: Session, user_id: int, *, agency_id: int, outcome: str, spoke_with: str, notes: str, actor: str,
          clock: Clock) -> Requester:
    """Record the call-back that vouches for an officer whose address proves nothing by itself.

    The call goes to the agency's number in the directory (never one the officer gave). A
    confirmed call ties the officer to the agency; approving the account is then a second
    person's act (see `approve_officer`).
    """
    requester = requester_for_user(session, users.get_user(session, user_id).id)
    agency = directory.get_agency(session, agency_id)
    if not agency.phone:
        raise InvalidInput(f"The directory has no verified number for {agency.name}; add one (and where it was "
                           "verified) before calling back.")
    if outcome not in CALLBACK_OUTCOMES:
        raise InvalidInput(f"A call-back's outcome is one of: {', '.join(CALLBACK_OUTCOMES)}.")
    if not spoke_with.strip() and outcome == "confirmed":
        raise InvalidInput("Name the person at the agency who confirmed the officer.")
    note = (f"Called {agency.name} on {agency.phone} (directory; {agency.phone_source or 'source not recorded'}): "
            f"{outcome}; spoke with {spoke_with.strip() or 'nobody'}. {notes.strip()}").strip()
    if outcome == "confirmed":
        requester.vouched_by, requester.vouched_at, requester.agency_id = actor, clock.now(), agency.id
        requester.vouch_note = note
    audit.record(session, actor=actor, action="legal.officer.callback", subject=f"user:{user_id}", clock=clock,
                 details={"email": requester.email, "agency": agency.id, "number": agency.phone, "outcome": outcome,
                          "spoke_with": spoke_with.strip()})
    return requester


def approve_officer(session: Session, user_id: int, *, actor: str, clock: Clock) -> User:
    """Enable an officer account whose official address is confirmed.

    An address on a public mail service or on no agency's domain needs more: a confirmed call-back
    on the directory number (`vouch`) and an approver other than the person who made the call.
    """
    user = users.get_user(session, user_id)
    requester = requester_for_user(session, user.id)
    if user.role != Role.OFFICER.value or requester.confirmed_at is None:
        raise InvalidInput("Only officers who confirmed their address can be approved.")
    reason = needs_vouching(session, requester)
    if reason and requester.vouched_at is None:
        raise InvalidInput(f"{requester.email} cannot be approved with one click: {reason}. Call the agency back on "
                           "its directory number and record the call first; a second person then approves.")
    if reason and requester.vouched_by == actor:
        raise InvalidInput(f"You recorded the call-back for {requester.email}; a second person must approve the "
                           "account.")
    users.set_disabled(session, user, False, actor=actor, clock=clock)
    audit.record(session, actor=actor, action="legal.officer.approve", subject=f"user:{user.id}",
                 details={"email": requester.email, "agency": requester.agency_id,
                          "vouched_by": requester.vouched_by or None}, clock=clock)
    notify.queue(session, to=requester.email, subject="Your officer account is approved", clock=clock,
                 kind="legal.officer_approved", subject_ref=f"legal_requester:{requester.id}", actor=actor,
                 text="Legal staff approved your account for law-enforcement requests. Log in to the portal with "
                      "your address and password; the first login asks you to set up a second factor.")
    return user


def set_supervisor(session: Session, user_id: int, value: bool, *, actor: str, clock: Clock) -> Requester:
    """Make an approved officer their agency's supervisor (sees and transfers the agency's requests), or not."""
    user = users.get_user(session, user_id)
    requester = requester_for_user(session, user.id)
    agency_id = agency_of(session, requester)
    if value and (user.disabled or agency_id is None):
        raise InvalidInput("Only an approved officer of an agency in the directory can supervise its requests.")
    requester.agency_id, requester.supervisor = agency_id, value
    audit.record(session, actor=actor, action="legal.officer.supervisor", subject=f"user:{user.id}", clock=clock,
                 details={"email": requester.email, "agency": agency_id, "supervisor": value})
    return requester
