"""The message thread between the officer and the legal desk: threaded, with attachments and templated
replies; mail says only that a message is waiting; each side sees when the other read it; officers
reach only their own threads; held requests are never answered."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bastion import orgsettings
from bastion.audit.models import AuditRecord
from bastion.auth.roles import Role
from bastion.errors import InvalidInput
from bastion.legal import messages
from bastion.legal.models import LegalRequest, Requester
from bastion.mail.models import MailMessage
from tests.conftest import api_login
from tests.legal.conftest import PDF, bnss_notice

OFFICER = "si.patil@mumbaipolice.gov.in"
LETTER = PDF + b"% the officer's covering letter\n"  # not the notice's bytes: the vault keeps each once


def _officer(desk, clock, user_factory):  # type: ignore[no-untyped-def]
    officer = user_factory(Role.OFFICER)
    with desk() as session:
        requester = session.scalars(select(Requester).where(Requester.email == OFFICER)).one()
        requester.user_id, requester.confirmed_at = officer.id, clock.now()
        session.commit()
    return officer, None


def test_a_thread_with_templates_attachments_read_receipts_and_mail_that_carries_no_text(  # type: ignore[no-untyped-def]
        app, desk, submit, clock, user_factory) -> None:
    request = submit(bnss_notice())
    officer, _ = _officer(desk, clock, user_factory)
    with desk() as session:
        orgsettings.set_value(session, "legal.nodal_officer_email", "nodal@bastion.example", actor="admin", clock=clock)
        session.commit()
    staff = TestClient(app)
    staff_csrf = {"X-CSRF-Token": api_login(staff, user_factory(Role.LEGAL), clock)}
    sent = staff.post(f"/api/v1/legal/requests/{request.id}/messages", headers=staff_csrf,
                      json={"template": "acknowledge"})
    assert sent.status_code == 201, sent.text
    assert request.reference in sent.json()["body"] and sent.json()["direction"] == "out"

    portal = TestClient(app)
    officer_csrf = {"X-CSRF-Token": api_login(portal, officer, clock)}
    page = portal.get(f"/portal/requests/{request.id}").text
    assert "We have received your request" in page and 'id="message-form"' in page
    replied = portal.post(f"/portal/requests/{request.id}/messages", headers=officer_csrf, follow_redirects=False,
                          data={"body": "The suspect is still active; please hurry.", "reply_to": str(sent.json()["id"])},
                          files=[("attachments", ("letter.pdf", LETTER, "application/pdf"))])
    assert replied.status_code == 303, replied.text

    thread = staff.get(f"/api/v1/legal/requests/{request.id}/messages").json()
    assert [m["direction"] for m in thread] == ["out", "in"]
    assert thread[0]["read_at"] is not None  # the officer opened the page
    assert thread[1]["reply_to"] == thread[0]["id"] and thread[1]["attachments"][0]["filename"] == "letter.pdf"
    document = thread[1]["attachments"][0]["id"]
    assert staff.get(f"/legal/requests/{request.id}/documents/{document}").content == LETTER
    assert portal.get(f"/portal/requests/{request.id}/attachments/{document}").content == LETTER
    staff_page = staff.get(f"/legal/requests/{request.id}").text
    assert "The suspect is still active" in staff_page and 'id="message-template"' in staff_page

    with desk() as session:
        mails = list(session.scalars(select(MailMessage).where(MailMessage.subject_ref == f"legal_request:{request.id}")))
        to_officer = [m for m in mails if m.kind == "legal.message"]
        to_staff = [m for m in mails if m.kind == "legal.officer_message"]
        assert len(to_officer) == 1 and to_officer[0].to_addrs == [OFFICER]
        assert [m.to_addrs for m in to_staff] == [["nodal@bastion.example"]]
        assert "We have received" not in to_officer[0].text_body and "/portal/requests/" in to_officer[0].text_body
        assert "still active" not in to_staff[0].text_body  # mail says there is a message, not what it says
        sent_audit = session.scalars(select(AuditRecord).where(AuditRecord.action == "legal.message.send")).one()
        assert "We have received" not in sent_audit.details and len(re.findall(r"[0-9a-f]{64}", sent_audit.details)) == 1


def test_officers_reach_only_their_own_threads(app, desk, submit, clock, user_factory) -> None:  # type: ignore[no-untyped-def]
    mine = submit(bnss_notice())
    theirs = submit(bnss_notice(requester_email="sho.cyber@mumbaipolice.gov.in", case_number="FIR 9/2026"))
    officer, _ = _officer(desk, clock, user_factory)
    staff = TestClient(app)
    csrf = {"X-CSRF-Token": api_login(staff, user_factory(Role.LEGAL), clock)}
    staff.post(f"/api/v1/legal/requests/{theirs.id}/messages", headers=csrf,
               json={"body": "A private word for the other officer."})
    portal = TestClient(app)
    officer_csrf = {"X-CSRF-Token": api_login(portal, officer, clock)}
    assert portal.get(f"/portal/requests/{theirs.id}").status_code == 404
    assert portal.post(f"/portal/requests/{theirs.id}/messages", headers=officer_csrf,
                       data={"body": "hello"}).status_code == 404
    assert "A private word" not in portal.get(f"/portal/requests/{mine.id}").text
    document = staff.get(f"/api/v1/legal/requests/{mine.id}").json()["documents"][0]["id"]
    # the notice itself is a desk record, not a thread attachment: the officer cannot fetch it by id
    assert portal.get(f"/portal/requests/{mine.id}/attachments/{document}").status_code == 404


def test_held_requests_are_never_answered_and_blanks_must_be_filled(desk, submit, clock) -> None:  # type: ignore[no-untyped-def]
    request = submit(bnss_notice(requester_email="someone@gmail.com"))
    with desk() as session:
        held = session.get(LegalRequest, request.id)
        assert held is not None and held.verification == "held"
        with pytest.raises(InvalidInput, match="never answered"):
            messages.send_from_desk(session, held, body="hello", actor="legal", author_name="lee", clock=clock,
                                    base_url="https://b.example")
    verified = submit(bnss_notice(case_number="FIR 5/2026"))
    with desk() as session:
        request = session.get(LegalRequest, verified.id)
        with pytest.raises(InvalidInput, match=r"Replace \[state the reason\]"):
            messages.send_from_desk(session, request, body="", template="refuse_invalid", actor="legal",  # type: ignore[arg-type]
                                    author_name="lee", clock=clock, base_url="https://b.example")
        with pytest.raises(InvalidInput, match="limit is 20,000"):
            messages.send_from_desk(session, request, body="x" * 20_001, actor="legal", author_name="lee",  # type: ignore[arg-type]
                                    clock=clock, base_url="https://b.example")
        with pytest.raises(InvalidInput, match="choose one of"):
            messages.send_from_desk(session, request, body="", template="nope", actor="legal",  # type: ignore[arg-type]
                                    author_name="lee", clock=clock, base_url="https://b.example")
