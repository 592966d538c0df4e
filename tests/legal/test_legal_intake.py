"""Intake: validation messages, scope flags, documents, verification against the directory, reminders."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from bastion import audit
from bastion.clock import ManualClock
from bastion.legal import catalogue, directory, intake, review, verification
from bastion.legal.errors import DocumentRefused, RequestHeld
from bastion.legal.models import LegalRequest
from bastion.legal.schemas import RequestInput
from bastion.mail import mail_for
from tests.legal.conftest import PDF, bnss_notice


def _message(session: Session, request: LegalRequest) -> str:
    [event] = [e for e in intake_events(session, request) if e.kind == "information_requested"]
    return event.text


def intake_events(session: Session, request: LegalRequest):  # type: ignore[no-untyped-def]
    from bastion.legal.timeline import events_of

    return events_of(session, request.id)


def test_a_complete_notice_is_open_verified_by_domain_and_due_by_its_earliest_clock(submit, desk, clock) -> None:
    request = submit(bnss_notice())
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        assert request.status == "open" and json.loads(request.missing_json) == []
        assert request.reference.startswith("LR-2026-")
        # the notice states 20 January, but as an order to an intermediary it also runs Rule 3(1)(j)'s 72 hours
        assert request.due_at == request.received_at + timedelta(hours=72)
        assert date(2026, 1, 20) > request.due_at.date()
        flags = {f["code"] for f in verification.flags_of(request)}
        assert "domain_ok" in flags and "address_unconfirmed" in flags
        assert request.verification == "unconfirmed" and request.agency_id is not None
        assert audit.verify(session).ok


def test_everything_missing_is_named_in_one_message_and_the_request_waits(submit, desk, clock) -> None:
    incomplete = RequestInput(instrument="us_subpoena", requester_email="agent@ic.fbi.gov",
                              accounts=[{"kind": "username", "value": "alice"}], categories=["subscriber"])
    request = submit(incomplete, document=None)
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        assert request.status == "needs_information"
        message = _message(session, request)
        for label in ("the issuing authority", "name and rank of the requesting officer", "a phone number",
                      "the case or FIR number", "the date range", "signed request on letterhead",
                      "date stated in the notice"):
            assert label in message, (label, message)
        assert "the accounts" not in message and "data categories sought" not in message  # those were given
        [mail] = [m for m in mail_for(session, f"legal_request:{request.id}") if m.kind == "legal.information_requested"]
        assert mail.to == ("agent@ic.fbi.gov",)
        assert request.due_at is None  # a subpoena's return date is what it states: not stated yet

    # the follow-up supplies some: the next message names only what is still missing
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        intake.update(session, request, bnss_notice().model_copy(update={
            "accounts": None, "categories": None, "instrument": "us_subpoena", "case_number": "",
        }), actor="officer", clock=clock, by_requester=True)
        session.commit()
        assert request.status == "needs_information"
        still = json.loads(request.missing_json)
        assert still == ["case_number", "document"]


def test_scope_flags_content_on_a_subpoena_with_the_reason(submit, desk) -> None:
    request = submit(bnss_notice(instrument="us_subpoena", requester_email="agent@ic.fbi.gov",
                                 issuing_authority="FBI", categories=["subscriber", "identifying_ip", "content"]))
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        flags = json.loads(request.scope_json)
        assert [f["category"] for f in flags] == ["content"]
        assert "search warrant" in flags[0]["reason"] and "2703" in flags[0]["reason"]
        assert "outside what Subpoena" in _message(session, request)


def test_epoc_traffic_and_content_need_a_three_year_offence(desk, submit) -> None:
    with desk() as session:
        directory.set_agency(session, name="Polizei (demo)", country="DE", jurisdiction="EU", domains="polizei.example.de",
                             actor="test", clock=ManualClock())
        session.commit()
    request = submit(bnss_notice(instrument="eu_epoc", requester_email="k@polizei.example.de", offence="insult",
                                 offence_max_years=1, categories=["subscriber", "content"]))
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        flags = json.loads(request.scope_json)
        assert [f["category"] for f in flags] == ["content"] and "at least 3 years" in flags[0]["reason"]


def test_documents_are_pdf_or_image_only_and_size_capped(desk, submit, clock, vault) -> None:
    request = submit(bnss_notice(), document=None)
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        with pytest.raises(DocumentRefused, match="ZIP archive"):
            intake.attach_document(session, request, "notice.docx", b"PK\x03\x04rest", actor="clerk", clock=clock,
                                   vault=vault)
        from bastion import orgsettings

        orgsettings.set_value(session, "legal.max_document_bytes", 100, actor="admin", clock=clock)
        with pytest.raises(DocumentRefused, match="up to 100 bytes"):
            intake.attach_document(session, request, "big.pdf", PDF + b"x" * 200, actor="clerk", clock=clock,
                                   vault=vault)
        row = intake.attach_document(session, request, "notice.pdf", PDF, actor="clerk", clock=clock, vault=vault)
        assert row.content_type == "application/pdf"
        assert vault.get(session, row.evidence_id).kind == "document"


def test_a_forged_request_from_outside_the_agencys_domain_is_held_and_never_answered(submit, desk, clock) -> None:
    with desk() as session:
        fbi = next(a for a in directory.list_agencies(session) if a.country == "US")
    forged = bnss_notice(instrument="us_emergency", requester_email="fbi.agent@gmail.com", agency_id=fbi.id,
                         emergency_person="a child", emergency_nature="threat", emergency_why="imminent")
    request = submit(forged)
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        assert request.status == "held" and request.verification == "held"
        [hold] = [f for f in verification.flags_of(request) if f["severity"] == "hold"]
        assert hold["code"] == "outside_domain" and "ic.fbi.gov" in hold["text"]
        # no mail ever goes to the sender
        assert not [m for m in mail_for(session, f"legal_request:{request.id}") if "gmail" in " ".join(m.to)]
        with pytest.raises(RequestHeld):
            review.decide(session, request, _user(session), outcome="produce", actor="x", clock=clock)
        assert not [e for e in intake_events(session, request) if e.requester_visible and e.kind != "received"
                    and e.kind != "document"]


def test_a_domain_in_no_agency_is_held(submit, desk) -> None:
    request = submit(bnss_notice(requester_email="inspector@police-mumbai.in"))
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        assert request.status == "held"
        assert any(f["code"] == "unknown_domain" for f in verification.flags_of(request))
        # a look-alike subdomain trick does not pass either
        assert not directory.domain_matches("mumbaipolice.gov.in.evil.example", ["mumbaipolice.gov.in"])
        assert directory.domain_matches("cyber.mumbaipolice.gov.in", ["mumbaipolice.gov.in"])


def test_a_reminder_from_the_requester_lands_on_the_original_request(submit, desk) -> None:
    original = submit(bnss_notice())
    reminder = submit(RequestInput(instrument="in_bnss_94", reminder_of=original.reference,
                                   requester_email="si.patil@mumbaipolice.gov.in", note="please expedite"),
                      document=None)
    assert reminder.id == original.id
    with desk() as session:
        request = session.get(LegalRequest, original.id)
        assert session.query(LegalRequest).count() == 1
        assert request.priority == intake.REMINDER_BOOST
        [event] = [e for e in intake_events(session, request) if e.kind == "requester_reminder"]
        assert "please expedite" in event.text and event.requester_visible


def test_catalogue_edits_are_audited_with_before_and_after(desk, clock) -> None:
    with desk() as session:
        rule = catalogue.set_instrument(session, "in_itr_3_1_j", {"deadline": {"type": "hours", "value": 48}},
                                        actor="legal-lead", reason="test amendment", clock=clock)
        session.commit()
        assert rule.deadline["value"] == 48
        from sqlalchemy import select

        from bastion.audit.models import AuditRecord

        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "legal.catalogue.instrument")).one()
        details = json.loads(record.details)
        assert details["before"]["deadline"]["value"] == 72 and details["after"]["deadline"]["value"] == 48


def test_agency_csv_import_all_or_nothing(desk, clock) -> None:
    good = "name,country,jurisdiction,domains,phone\nDelhi Police,IN,IN,delhipolice.gov.in;delhi.gov.in,+91 11 5550 0000\n"
    bad = good + "Broken,IN,IN,not a domain,\n"
    with desk() as session:
        from bastion.errors import InvalidInput

        with pytest.raises(InvalidInput, match="line 3"):
            directory.import_csv(session, bad, actor="legal", clock=clock)
        session.rollback()
        report = directory.import_csv(session, good, actor="legal", clock=clock)
        session.commit()
        assert report.added == 1
        [delhi] = directory.agencies_for_email(session, "x@delhi.gov.in")
        assert delhi.domains == "delhi.gov.in delhipolice.gov.in"


def _user(session: Session):  # type: ignore[no-untyped-def]
    from bastion.auth import users
    from bastion.auth.roles import Role

    return users.create_user(session, username="rev-x", role=Role.LEGAL, password="a-long-test-password-1", email="",
                             actor="test", clock=ManualClock())
