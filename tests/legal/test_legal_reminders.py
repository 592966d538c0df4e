"""A reminder from the officer escalates for real: top of the queue, mail to the assignee and the legal
lead, a banner and a count; a reminder about a request already answered tells the officer what went out."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from bastion import orgsettings
from bastion.auth.roles import Role
from bastion.legal import clocks, intake, review
from bastion.legal.models import LegalRequest
from bastion.legal.timeline import events_of
from bastion.mail import mail_for
from tests.conftest import api_login
from tests.legal.conftest import bnss_notice
from tests.legal.test_legal_clock_and_review import _legal_users, _user


def test_a_reminder_puts_the_request_on_top_and_mails_the_assignee_and_the_lead(app, desk, submit, clock,  # type: ignore[no-untyped-def]
                                                                               user_factory) -> None:
    with desk() as session:
        orgsettings.set_value(session, "legal.nodal_officer_email", "nodal@bastion.example", actor="admin", clock=clock)
        session.commit()
    urgent = submit(bnss_notice(instrument="in_itr_3_1_j", purpose="investigation"))  # 72 hours: first by time
    chased = submit(bnss_notice(instrument="in_ita_69", case_number="FIR 7/2026"))  # due on its stated date
    [assignee_id] = _legal_users(desk, user_factory)
    with desk() as session:
        assert [r.id for r in clocks.queue(session)][0] == urgent.id  # before the reminder: by time left
        request = session.get(LegalRequest, chased.id)
        review.assign(session, request, _user(session, assignee_id), actor="lead", clock=clock)
        clock.advance(timedelta(days=2))
        intake.requester_reminder(session, request, actor="officer:si.patil@mumbaipolice.gov.in", clock=clock,
                                  source="portal", from_email="si.patil@mumbaipolice.gov.in", text="Nothing yet?")
        session.commit()
        assert [r.id for r in clocks.queue(session)][0] == chased.id  # escalated above the nearer deadline
        sent = {m.to[0] for m in mail_for(session, f"legal_request:{chased.id}") if m.kind == "legal.reminder_escalated"}
        assert sent == {"nodal@bastion.example", _user(session, assignee_id).email}
    staff = TestClient(app)
    api_login(staff, user_factory(Role.LEGAL), clock)
    page = staff.get(f"/legal/requests/{chased.id}").text
    assert 'id="chased"' in page and "chased this request 1 time" in page
    listing = staff.get("/legal").text
    assert "CHASED ×1" in listing and "1</strong> chased by the requester" in listing


def test_a_reminder_about_an_answered_request_says_when_and_what(desk, submit, clock) -> None:  # type: ignore[no-untyped-def]
    request = submit(bnss_notice())
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        request.verification = "verified"
        clocks.note_answered(session, request, actor="legal", clock=clock, text="Produced.")
        session.commit()
        clock.advance(timedelta(days=1))
        intake.requester_reminder(session, request, actor="officer:x", clock=clock, source="email",
                                  from_email=request.requester_email)
        session.commit()
        [mail] = [m for m in mail_for(session, f"legal_request:{request.id}") if m.kind == "legal.already_answered"]
        assert mail.subject.endswith("already answered") and request.escalated_at is None
        told = [e.text for e in events_of(session, request.id) if e.kind == "already_answered"]
        assert told and "was answered on" in told[0]
