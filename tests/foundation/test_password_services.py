"""Password change and reset services, below the web layer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.auth import account, resets, users
from bastion.auth.apikeys import Lifetimes
from bastion.auth.errors import InvalidCredentials, StepUpRequired
from bastion.auth.login import Client
from bastion.auth.models import AuthThrottle, PasswordReset, WebSession
from bastion.auth.passwords import WeakPassword, verify_password
from bastion.auth.roles import Role
from bastion.auth.sessions import start_session
from bastion.auth.throttle import Policy
from bastion.clock import ManualClock
from bastion.mail.models import MailMessage
from tests.conftest import PASSWORD, SECRET, make_user

CLIENT = Client("198.51.100.1")
NEW = "a-completely-new-password"


def _user(sessions, clock, role=Role.LEGAL, email="person@example.org", enrol=True):  # type: ignore[no-untyped-def]
    made = make_user(sessions, clock, role, enrol=enrol)
    with sessions() as db:
        users.get_user(db, made.id).email = email
        db.commit()
    return made


def test_a_weak_new_password_is_refused_before_any_proof_is_spent(db: Session, sessions, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    made = _user(sessions, clock)
    user = users.get_user(db, made.id)
    with pytest.raises(WeakPassword):
        account.change_password(db, user, current="wrong", new="short", code=made.code(clock),
                                instance_secret=SECRET.encode(), client=CLIENT, policy=Policy(), clock=clock)
    assert db.scalar(select(AuthThrottle.id)) is None  # nothing was counted: no proof was tried


def test_change_password_counts_a_wrong_current_password_and_ends_sessions(db: Session, sessions, clock) -> None:  # type: ignore[no-untyped-def]
    made = _user(sessions, clock)
    user = users.get_user(db, made.id)
    start_session(db, user, mfa_passed=True, ip="x", hours=1, clock=clock)
    with pytest.raises(InvalidCredentials):
        account.change_password(db, user, current="not-it-at-all", new=NEW, code=None,
                                instance_secret=SECRET.encode(), client=CLIENT, policy=Policy(), clock=clock)
    assert db.scalar(select(AuthThrottle.failures)) == 1
    with pytest.raises(StepUpRequired):
        account.change_password(db, user, current=PASSWORD, new=NEW, code=None,
                                instance_secret=SECRET.encode(), client=CLIENT, policy=Policy(), clock=clock)
    own = account.mint_own_key(db, user, name="tool", scopes=["legal.read"], code=made.code(clock), lifetime=None,
                               instance_secret=SECRET.encode(), client=CLIENT, policy=Policy(),
                               limits=Lifetimes(), clock=clock)
    account.change_password(db, user, current=PASSWORD, new=NEW, code=made.code(clock),
                            instance_secret=SECRET.encode(), client=CLIENT, policy=Policy(), clock=clock)
    assert verify_password(user.password_hash, NEW)
    assert db.scalar(select(WebSession.id).where(WebSession.user_id == user.id)) is None
    assert own.row.revoked_at is not None  # the self-minted key rested on the old proofs


def test_a_newer_link_replaces_the_older_and_only_a_hash_is_kept(db: Session, sessions, clock) -> None:  # type: ignore[no-untyped-def]
    made = _user(sessions, clock, role=Role.AUDITOR, enrol=False)
    user = users.get_user(db, made.id)
    config = resets.ResetConfig(base_url="https://bastion.example", lifetime=timedelta(minutes=30))
    resets.start_reset(db, user, actor="admin", config=config, clock=clock)
    resets.start_reset(db, user, actor="admin", config=config, clock=clock)
    bodies = list(db.scalars(select(MailMessage.text_body).order_by(MailMessage.id)))
    first, second = (body.split("token=")[1].split()[0] for body in bodies)
    assert all(token not in h for h in db.scalars(select(PasswordReset.token_hash)) for token in (first, second))
    with pytest.raises(resets.ResetLinkInvalid):
        resets.pending(db, first, clock)
    resets.complete_reset(db, second, NEW, None, instance_secret=SECRET.encode(), client=CLIENT, policy=Policy(),
                          clock=clock)
    assert verify_password(user.password_hash, NEW)


def test_a_sent_link_is_blanked_from_the_outbox_and_still_works(db: Session, sessions, clock, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The link lives in the recipient's mailbox only: once sent, the outbox row keeps no copy of it."""
    from bastion.mail import MailDeliverer, SinkSender, read_sink
    from bastion.mail.outbox import SENT_SECRET_BODY, queue_mail

    made = _user(sessions, clock, role=Role.AUDITOR, enrol=False)
    resets.start_reset(db, users.get_user(db, made.id), actor="admin",
                       config=resets.ResetConfig(base_url="https://bastion.example"), clock=clock)
    queue_mail(db, to="person@example.org", subject="An ordinary notice", text="Nothing secret here.",
               kind="legal.acknowledgement", subject_ref="x:1", actor="test", clock=clock)
    db.commit()
    sink = tmp_path / "sink"
    assert len(MailDeliverer(sessions, SinkSender(sink), clock).send_due().sent) == 2
    db.expire_all()
    bodies = dict(db.execute(select(MailMessage.kind, MailMessage.text_body)).all())
    assert bodies == {"auth.password_reset": SENT_SECRET_BODY, "legal.acknowledgement": "Nothing secret here."}
    [reset_mail] = [m for m in read_sink(sink) if m.subject == "Reset your Bastion password"]
    token = reset_mail.text.split("token=")[1].split()[0]
    resets.complete_reset(db, token, NEW, None, instance_secret=SECRET.encode(), client=CLIENT, policy=Policy(),
                          clock=clock)
    assert verify_password(users.get_user(db, made.id).password_hash, NEW)


@pytest.mark.parametrize(("role", "enrol", "sent"), [
    (Role.AUDITOR, False, True), (Role.REVIEWER, False, False), (Role.REVIEWER, True, True), (Role.PLATFORM, False, False),
])
def test_self_service_links_go_only_where_they_are_safe(db: Session, sessions, clock, role, enrol, sent) -> None:  # type: ignore[no-untyped-def]
    made = _user(sessions, clock, role=role, enrol=enrol, email=f"{role.value}@example.org")
    resets.request_self_service(db, made.username, client=CLIENT, policy=Policy(),
                                config=resets.ResetConfig(base_url="https://b.example"), clock=clock)
    assert (db.scalar(select(MailMessage.id)) is not None) == sent
    if sent:  # and not twice in quick succession
        resets.request_self_service(db, f"{role.value}@example.org", client=Client("198.51.100.2"), policy=Policy(),
                                    config=resets.ResetConfig(base_url="https://b.example"), clock=clock)
        assert len(list(db.scalars(select(MailMessage.id)))) == 1
