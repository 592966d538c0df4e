"""Clocks (reminders, breach escalation), review with a second approver, emergencies, notice, preservation."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bastion import orgsettings
from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.executor import TaskContext
from bastion.legal import intake, notice, preservation, review, verification
from bastion.legal.errors import CallbackRequired, OutOfScope, SecondApproverRequired
from bastion.legal.models import LegalRequest, Requester
from bastion.legal.schemas import RequestInput
from bastion.legal.timeline import events_of
from bastion.mail import mail_for
from bastion.timers import Ticker
from tests.legal.conftest import bnss_notice


def _kinds(session: Session, request_id: int) -> list[str]:
    return [e.kind for e in events_of(session, request_id)]


def _confirm(session: Session, request: LegalRequest, clock: ManualClock) -> None:
    requester = session.get(Requester, request.requester_id)
    requester.confirmed_at = clock.now()
    intake.refresh(session, request, actor="test", clock=clock)


def _legal_users(sessions, user_factory, n: int = 1) -> list[int]:  # type: ignore[no-untyped-def]
    """Legal staff with email addresses, created before any test session takes the write lock."""
    from bastion.auth.models import User

    ids = []
    for _ in range(n):
        test_user = user_factory(Role.LEGAL)
        with sessions() as s:
            s.get(User, test_user.id).email = f"{test_user.username}@bastion.example"
            s.commit()
        ids.append(test_user.id)
    return ids


def _user(session: Session, user_id: int):  # type: ignore[no-untyped-def]
    from bastion.auth.models import User

    return session.get(User, user_id)


def test_reminder_at_four_fifths_and_escalation_at_breach(desk: sessionmaker[Session], submit, clock: ManualClock,
                                                          user_factory) -> None:
    """A 72-hour Rule 3(1)(j) order: reminders at 50% and 80%, escalation at 72 h. The clock moves; the ticker ticks."""
    with desk() as session:
        orgsettings.set_value(session, "legal.nodal_officer_email", "nodal@bastion.example", actor="admin", clock=clock)
        orgsettings.set_value(session, "legal.compliance_officer_email", "cco@bastion.example", actor="admin",
                              clock=clock)
        session.commit()
    request = submit(bnss_notice(instrument="in_itr_3_1_j", purpose="investigation of FIR 112/2026"))
    [assignee_id] = _legal_users(desk, user_factory)
    with desk() as session:
        assignee = _user(session, assignee_id)
        request = session.get(LegalRequest, request.id)
        assert request.due_at == request.received_at + timedelta(hours=72)
        review.assign(session, request, assignee, actor="lead", clock=clock)
        session.commit()
    ticker = Ticker(TaskContext(sessions=desk, clock=clock))

    def reminders() -> list[str]:
        with desk() as session:
            return [e.text for e in events_of(session, request.id) if e.kind == "reminder"]

    clock.advance(timedelta(hours=35))
    ticker.tick()
    assert reminders() == []
    clock.advance(timedelta(hours=1, minutes=1))  # 50 %
    ticker.tick()
    assert len(reminders()) == 1 and "50%" in reminders()[0]
    clock.advance(timedelta(hours=21))  # 57 h: not yet 80 % (57.6 h)
    ticker.tick()
    assert len(reminders()) == 1
    clock.advance(timedelta(minutes=40))  # 4/5 of the time
    ticker.tick()
    assert len(reminders()) == 2 and "80%" in reminders()[1]
    with desk() as session:
        assert "deadline_breached" not in _kinds(session, request.id)
    clock.advance(timedelta(hours=14, minutes=30))  # past 72 h
    ticker.tick()
    with desk() as session:
        breached = session.get(LegalRequest, request.id)
        [event] = [e for e in events_of(session, request.id) if e.kind == "deadline_breached"]
        assert set(json.loads(event.details)["to"]) == {"nodal@bastion.example", "cco@bastion.example",
                                                        assignee.email}
        assert breached.priority >= 1000
        mails = [m for m in mail_for(session, f"legal_request:{request.id}") if m.kind == "legal.deadline_breached"]
        assert {m.to[0] for m in mails} == {"nodal@bastion.example", "cco@bastion.example", assignee.email}
        reminder_mails = [m for m in mail_for(session, f"legal_request:{request.id}") if m.kind == "legal.reminder"]
        assert [m.to for m in reminder_mails] == [(assignee.email,), (assignee.email,)]
    ticker.tick()  # nothing fires twice
    assert len(reminders()) == 2


def test_answering_stops_the_clock(desk, submit, clock: ManualClock, user_factory) -> None:
    request = submit(bnss_notice(instrument="in_itr_3_1_j", purpose="p"))
    [user_id] = _legal_users(desk, user_factory)
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        user = _user(session, user_id)
        review.decide(session, request, user, outcome="refuse", reason="The account does not exist on our service.",
                      actor=user.username, clock=clock)
        session.commit()
        assert request.status == "refused" and request.answered_at is not None
        refusal = [m for m in mail_for(session, f"legal_request:{request.id}") if m.kind == "legal.refusal_sent"]
        assert refusal and refusal[0].to == ("si.patil@mumbaipolice.gov.in",)
    clock.advance(timedelta(hours=100))
    Ticker(TaskContext(sessions=desk, clock=clock)).tick()
    with desk() as session:
        assert "reminder" not in _kinds(session, request.id) and "deadline_breached" not in _kinds(session, request.id)


def test_disclosure_needs_a_second_approver(desk, submit, clock: ManualClock, user_factory) -> None:
    request = submit(bnss_notice())
    alice_id, bob_id = _legal_users(desk, user_factory, 2)
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        _confirm(session, request, clock)
        alice, bob = _user(session, alice_id), _user(session, bob_id)
        review.decide(session, request, alice, outcome="produce", actor=alice.username, clock=clock)
        with pytest.raises(SecondApproverRequired, match="different member"):
            review.approve(session, request, alice, actor=alice.username, clock=clock)
        decision = review.approve(session, request, bob, actor=bob.username, clock=clock)
        session.commit()
        assert decision.status == "approved" and request.status == "approved"
        assert review.approved_categories(session, request) == ["subscriber", "content", "location", "hosting"]


def test_out_of_scope_categories_cannot_be_approved(desk, submit, clock, user_factory) -> None:
    request = submit(bnss_notice(instrument="us_subpoena", requester_email="agent@ic.fbi.gov",
                                 categories=["subscriber", "content"]))
    [user_id] = _legal_users(desk, user_factory)
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        _confirm(session, request, clock)
        user = _user(session, user_id)
        with pytest.raises(OutOfScope, match="search warrant"):
            review.decide(session, request, user, outcome="produce_in_part", categories=["subscriber", "content"],
                          reason="x", actor=user.username, clock=clock)
        decision = review.decide(session, request, user, outcome="produce_in_part", categories=["subscriber"],
                                 reason="Content needs a search warrant.", actor=user.username, clock=clock)
        assert json.loads(decision.categories_json) == ["subscriber"]


def test_an_emergency_without_a_call_back_to_the_directory_number_is_refused(desk, submit, clock, user_factory) -> None:
    emergency = RequestInput(
        instrument="us_emergency", requester_email="duty.agent@ic.fbi.gov", requester_phone="+1 202 555 0142",
        issuing_authority="FBI", issuing_officer="SA Jones", accounts=[{"kind": "user_id", "value": "acct-1001"}],
        categories=["subscriber", "location"], emergency_person="a 14-year-old", emergency_nature="threat of self-harm",
        emergency_why="location needed to dispatch help now",
    )
    request = submit(emergency, document=None)
    alice_id, bob_id = _legal_users(desk, user_factory, 2)
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        assert request.emergency and request.status == "open" and request.due_at is not None
        assert request.notice_status == "not_required"
        alice = _user(session, alice_id)
        with pytest.raises(CallbackRequired, match="call-back"):
            review.decide(session, request, alice, outcome="produce", actor=alice.username, clock=clock)
        # the number in the request is not the directory's: refused
        with pytest.raises(CallbackRequired, match="not \\+1 202 555 0142"):
            verification.record_callback(session, request, outcome="confirmed", spoke_with="SA Jones",
                                         number="+1 202 555 0142", actor=alice.username, clock=clock)
        verification.record_callback(session, request, outcome="confirmed", spoke_with="SSA Smith, duty supervisor",
                                     actor=alice.username, clock=clock)
        assert verification.callback_confirmed(session, request)
        review.decide(session, request, alice, outcome="produce", actor=alice.username, clock=clock)
        bob = _user(session, bob_id)
        review.approve(session, request, bob, actor=bob.username, clock=clock)
        session.commit()
        assert request.status == "approved"


def test_user_notice_is_deferred_by_an_ndo_and_falls_due_when_it_expires(desk, submit, clock) -> None:
    request = submit(bnss_notice(instrument="us_warrant", requester_email="agent@ic.fbi.gov", court="D.D.C.",
                                 ndo=True, ndo_expires_at=date(2026, 4, 1)))
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        assert request.notice_status == "deferred" and "2026-04-01" in request.notice_reason
    other = submit(bnss_notice(instrument="us_warrant", requester_email="agent@ic.fbi.gov", court="D.D.C.",
                               case_number="other"))
    with desk() as session:
        assert session.get(LegalRequest, other.id).notice_status == "pending"
    clock.set(clock.now().replace(year=2026, month=4, day=1, hour=0, minute=1))
    Ticker(TaskContext(sessions=desk, clock=clock)).tick()
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        assert request.notice_status == "due" and "notice_due" in _kinds(session, request.id)
        notice.send(session, request, to="alice@example.com", actor="legal", clock=clock)
        assert request.notice_status == "sent"


def test_child_safety_bars_notice(desk, submit) -> None:
    request = submit(bnss_notice(child_safety=True))
    with desk() as session:
        assert session.get(LegalRequest, request.id).notice_status == "not_required"


class _FakeConnector:
    """The preservation call only; the demo platform over HTTP is exercised in test_legal_platform."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def preserve_account(self, account_id: str, idempotency_key: str):  # type: ignore[no-untyped-def]
        from datetime import UTC, datetime

        from bastion.platform import PreservationSnapshot, SubscriberInfo

        self.calls.append((account_id, idempotency_key))
        now = datetime(2026, 1, 1, tzinfo=UTC)
        return PreservationSnapshot(
            preservation_id=f"pres-{account_id}", account_id=account_id, preserved_at=now,
            subscriber=SubscriberInfo(account_id=account_id, username="u", display_name="U", created_at=now,
                                      status="active"), posts=(), logins=(), devices=(), locations=(), hosting=())


def test_a_preservation_request_freezes_the_accounts_for_90_days_and_one_extension(desk, submit, clock, vault) -> None:
    request = submit(RequestInput(instrument="us_2703f", requester_email="agent@ic.fbi.gov", requester_phone="+1 2",
                                  issuing_authority="FBI", issuing_officer="SA Jones",
                                  accounts=[{"kind": "user_id", "value": "acct-1001"}],
                                  date_from=date(2025, 1, 1), date_to=date(2026, 1, 1)), document=None)
    connector = _FakeConnector()
    ctx = TaskContext(sessions=desk, clock=clock, services={
        preservation.CONNECTOR_FACTORY: lambda: connector, preservation.VAULT_SERVICE: vault})
    ticker = Ticker(ctx)
    ticker.tick()
    assert connector.calls == [("acct-1001", f"legal-preserve-{request.id}-acct-1001")]
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        [row] = preservation.preservations_of(session, request.id)
        assert request.status == "preserved" and request.answered_at is not None
        assert row.status == "preserved" and row.expires_at == request.received_at + timedelta(days=90)
        item = vault.get(session, row.evidence_id)
        assert item.kind == "account_snapshot" and item.retention_until == row.expires_at
        clock.advance(timedelta(days=80))
        preservation.extend(session, request, actor="legal", clock=clock, vault=vault, reason="renewed request of day 80")
        session.commit()
        assert row.expires_at == request.received_at + timedelta(days=180)
        assert vault.get(session, row.evidence_id).retention_until == row.expires_at
        from bastion.legal.errors import WrongState

        with pytest.raises(WrongState, match="already extended"):
            preservation.extend(session, request, actor="legal", clock=clock, vault=vault, reason="again")
    clock.advance(timedelta(days=87))  # day 167: the reminder 14 days before day 180
    ticker.tick()
    clock.advance(timedelta(days=14))
    ticker.tick()
    with desk() as session:
        kinds = _kinds(session, request.id)
        assert "preservation_reminder" in kinds and "preservation_expired" in kinds
        assert session.get(LegalRequest, request.id).status == "expired"


def test_the_reviewer_sees_bastions_own_cases_and_they_bar_notice(desk, submit, clock) -> None:
    from bastion.cases.models import Case, CaseEvent

    with desk() as session:
        case = Case(account_id="acct-1001", status="confirmed", priority=0, opened_at=clock.now(),
                    updated_at=clock.now(), classification="A1")
        session.add(case)
        session.flush()
        session.add(CaseEvent(case_id=case.id, at=clock.now(), actor="rev", kind="report_requested"))
        session.commit()
    request = submit(bnss_notice(accounts=[{"kind": "user_id", "value": "acct-1001"}]))
    with desk() as session:
        from bastion.legal.views import request_view

        view = request_view(session, session.get(LegalRequest, request.id), clock.now())
        [related] = view.related_cases
        assert related.account_id == "acct-1001" and related.reported and related.classification == "A1"
        assert view.request.notice_status == "not_required" and "Child-safety" in view.request.notice_reason


def test_a_breach_is_escalated_once_even_if_the_request_changes_afterwards(desk, submit, clock) -> None:
    request = submit(bnss_notice(instrument="in_itr_3_1_j", purpose="p"))
    ticker = Ticker(TaskContext(sessions=desk, clock=clock))
    clock.advance(timedelta(hours=73))
    ticker.tick()
    with desk() as session:
        legal_request = session.get(LegalRequest, request.id)
        intake.update(session, legal_request, RequestInput(instrument="x", court="Sessions Court"), actor="clerk",
                      clock=clock)
        session.commit()
    clock.advance(timedelta(minutes=5))
    ticker.tick()
    with desk() as session:
        assert _kinds(session, request.id).count("deadline_breached") == 1
