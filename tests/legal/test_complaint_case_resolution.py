"""Issue 14: concluding a Rule 3(2)(b) complaint's review case resolves the complaint itself: the outcome
on its timeline, the complainant told by mail, and its clocks stopped (no reminder, no breach)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from bastion.auth.roles import Role
from bastion.executor import TaskContext
from bastion.grievances.models import Complaint, ComplaintEvent
from bastion.mail.models import MailMessage
from bastion.timers import Ticker
from bastion.timers.models import Timer
from tests.conftest import api_key, api_login


def _file_and_review(client, app, sessions, clock, user_factory, *, decision: str,  # type: ignore[no-untyped-def]
                     content_ref: str = "post-2004"):
    from bastion import orgsettings

    with sessions() as session:
        orgsettings.set_value(session, "grievances.officer_email", "officer@platform.example", actor="admin",
                              clock=clock)
        session.commit()
    filed = client.post("/api/v1/complaints", headers=api_key(client, sessions, clock),
                        json={"category": "ncii", "content_ref": content_ref, "contact_email": "me@example.org"})
    assert filed.status_code == 201, filed.text
    reference = filed.json()["reference"]
    reviewer = TestClient(app)
    csrf = {"X-CSRF-Token": api_login(reviewer, user_factory(Role.REVIEWER), clock)}
    case = reviewer.post("/api/v1/cases/next", headers=csrf).json()
    item = reviewer.get(f"/api/v1/cases/{case['id']}").json()["items"][0]
    reviewer.post(f"/cases/{case['id']}/items/{item['id']}/reveal", headers=csrf)
    body = {"decision": "confirm", "classification": "intimate"} if decision == "confirm" else \
        {"decision": "not_match", "reason": "not the complainant"}
    decided = reviewer.post(f"/api/v1/cases/{case['id']}/items/{item['id']}/decision", json=body, headers=csrf)
    assert decided.status_code == 200, decided.text
    concluded = reviewer.post(f"/api/v1/cases/{case['id']}/conclude", json={"restrict": ""}, headers=csrf)
    assert concluded.status_code == 200, concluded.text
    return reference, concluded.json()["status"]


def _complaint(sessions, reference: str):  # type: ignore[no-untyped-def]
    with sessions() as session:
        complaint = session.scalars(select(Complaint).where(Complaint.reference == reference)).one()
        events = [(e.kind, e.public, e.text) for e in session.scalars(
            select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id).order_by(ComplaintEvent.id))]
        pending = list(session.scalars(select(Timer).where(Timer.subject == f"complaint:{complaint.id}",
                                                           Timer.status == "pending")))
        session.expunge(complaint)
        return complaint, events, pending


def test_a_confirmed_ncii_case_resolves_its_complaint_as_removed_and_stops_its_clocks(client, app, sessions, clock,  # type: ignore[no-untyped-def]
                                                                                      user_factory) -> None:
    reference, status = _file_and_review(client, app, sessions, clock, user_factory, decision="confirm")
    assert status == "confirmed"
    complaint, events, pending = _complaint(sessions, reference)
    assert complaint.status == "resolved" and complaint.outcome == "removed"
    assert complaint.acted_at == complaint.resolved_at == clock.now()
    assert ("decided", True, "The content was removed.") in events
    assert any(kind == "decided_by_review" and not public for kind, public, _ in events)
    assert pending == []  # its reminders and breach timers are cancelled
    with sessions() as session:
        told = list(session.scalars(select(MailMessage).where(MailMessage.kind == "grievance.update")))
        assert [m.to_addrs for m in told] == [["me@example.org"]]
        assert "decided" in told[0].subject.lower() and "post-2004" not in told[0].text_body
    ticker = Ticker(TaskContext(sessions=sessions, clock=clock, services=app.state.bastion.services))
    clock.advance(timedelta(days=16))  # past every clock it had: nothing is breached or reminded
    ticker.tick()
    with sessions() as session:
        assert not list(session.scalars(select(MailMessage).where(
            MailMessage.kind.in_(("grievance.breach", "grievance.reminder")))))
    assert not [e for e in _complaint(sessions, reference)[1] if e[0] in ("deadline_breached", "reminder")]


def test_a_dismissed_ncii_case_resolves_its_complaint_with_no_action(client, app, sessions, clock,  # type: ignore[no-untyped-def]
                                                                    user_factory) -> None:
    reference, status = _file_and_review(client, app, sessions, clock, user_factory, decision="reject")
    assert status == "dismissed"
    complaint, events, pending = _complaint(sessions, reference)
    assert complaint.status == "resolved" and complaint.outcome == "no_action" and complaint.acted_at is None
    assert any(kind == "decided" and public and "no action was taken" in text for kind, public, text in events)
    assert pending == []


def test_a_confirmed_case_that_removed_nothing_leaves_the_complaint_to_the_officer(client, app, sessions, clock,  # type: ignore[no-untyped-def]
                                                                                   user_factory) -> None:
    """A URL Bastion cannot act on: telling the complainant "removed" would be false, so the officer decides."""
    reference, status = _file_and_review(client, app, sessions, clock, user_factory, decision="confirm",
                                         content_ref="https://elsewhere.example.net/p/9")
    assert status == "confirmed"
    complaint, events, pending = _complaint(sessions, reference)
    assert complaint.status != "resolved" and complaint.outcome == ""
    assert any(kind == "case_concluded" and not public and "decide this complaint by hand" in text
               for kind, public, text in events)
    assert pending  # its clocks still run
