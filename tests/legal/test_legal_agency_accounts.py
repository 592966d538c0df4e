"""Requester trust (issue 17 finding 7): a free-mail or unknown-domain officer is approved only after a
call-back on the directory's number and by a second person; agency supervisors see their agency's
requests; a request moves to another officer of the same agency, never outside it."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bastion.audit.models import AuditRecord
from bastion.auth import totp
from bastion.errors import InvalidInput
from bastion.legal import directory, officers, portal
from bastion.legal.models import LegalRequest, Requester
from bastion.mail.models import MailMessage
from tests.conftest import SECRET
from tests.legal.conftest import bnss_notice

PASSWORD = "a long enough passphrase 42"
TOTP = pyotp.random_base32()


def _register(db, clock, email: str):  # type: ignore[no-untyped-def]
    clock.advance(timedelta(minutes=2))  # registrations are rationed per client; these are minutes apart
    user = officers.register(db, name=email.split("@")[0], email=email, phone="+91 22 5550 0000", password=PASSWORD,
                             clock=clock, base_url="https://bastion.example")
    mail = [m for m in db.scalars(select(MailMessage).where(MailMessage.kind == "legal.officer_confirm"))
            if m.to_addrs == [email]][-1]
    portal.confirm_email(db, re.search(r"token=([\w-]+)", mail.text_body).group(1), clock=clock)  # type: ignore[union-attr]
    return user


def test_a_free_mail_officer_needs_a_call_back_and_a_second_person(desk, submit, clock) -> None:  # type: ignore[no-untyped-def]
    with desk() as db:
        user = _register(db, clock, "sho.andheri@gmail.com")
        mumbai = next(a for a in directory.list_agencies(db) if a.name.startswith("Mumbai"))
        with pytest.raises(InvalidInput, match="cannot be approved with one click: gmail.com is a public mail service"):
            officers.approve_officer(db, user.id, actor="legal:lee", clock=clock)
        held = submit(bnss_notice(requester_email="sho.andheri@gmail.com"), session=db)
        assert held.verification == "held"  # before the call-back: an address anyone could hold
        with pytest.raises(InvalidInput, match="Name the person"):
            officers.vouch(db, user.id, agency_id=mumbai.id, outcome="confirmed", spoke_with="", notes="",
                           actor="legal:lee", clock=clock)
        officers.vouch(db, user.id, agency_id=mumbai.id, outcome="confirmed", spoke_with="Insp. R. Kadam, duty officer",
                       notes="confirmed SHO Andheri uses this address", actor="legal:lee", clock=clock)
        with pytest.raises(InvalidInput, match="a second person must approve"):
            officers.approve_officer(db, user.id, actor="legal:lee", clock=clock)
        officers.approve_officer(db, user.id, actor="legal:kim", clock=clock)
        db.commit()
        assert not user.disabled
        call = db.scalars(select(AuditRecord).where(AuditRecord.action == "legal.officer.callback")).one()
        assert "+91 22 5550 0100" in call.details  # the directory's number, not the one the officer gave
        approval = db.scalars(select(AuditRecord).where(AuditRecord.action == "legal.officer.approve")).one()
        assert approval.actor == "legal:kim" and "legal:lee" in approval.details
    after = submit(bnss_notice(requester_email="sho.andheri@gmail.com", case_number="FIR 2/2026"))
    assert after.verification == "verified"
    with desk() as db:
        flags = {f["code"] for f in __import__("json").loads(db.get(LegalRequest, after.id).verification_json)}
        assert "vouched" in flags and "unknown_domain" not in flags


def test_the_directory_refuses_public_mail_domains_and_call_backs_need_its_number(desk, clock) -> None:  # type: ignore[no-untyped-def]
    with desk() as db:
        with pytest.raises(InvalidInput, match="public mail service"):
            directory.set_agency(db, name="Some PS", country="IN", domains="gmail.com", actor="x", clock=clock)
        silent = directory.set_agency(db, name="No Phone PS", country="IN", domains="nophone.gov.in", actor="x",
                                      clock=clock)
        user = _register(db, clock, "io@unknown-domain.in")
        with pytest.raises(InvalidInput, match="no verified number"):
            officers.vouch(db, user.id, agency_id=silent.id, outcome="confirmed", spoke_with="x", notes="",
                           actor="legal:lee", clock=clock)


def test_supervisors_see_the_agency_and_requests_move_only_within_it(app, desk, submit, clock) -> None:  # type: ignore[no-untyped-def]
    with desk() as db:
        users = {name: _register(db, clock, f"{name}@mumbaipolice.gov.in") for name in ("si.patil", "si.more", "acp.rao")}
        fbi = _register(db, clock, "agent@ic.fbi.gov")
        for user in [*users.values(), fbi]:
            officers.approve_officer(db, user.id, actor="legal:lee", clock=clock)
            user.totp_secret, user.totp_enabled = totp.encrypt_secret(TOTP, SECRET.encode()), True
        officers.set_supervisor(db, users["acp.rao"].id, True, actor="legal:lee", clock=clock)
        db.commit()
    request = submit(bnss_notice())  # from si.patil

    def login(email: str) -> tuple[TestClient, dict[str, str]]:
        http = TestClient(app)
        clock.advance(timedelta(seconds=30))  # a fresh code each time: codes are never replayed
        response = http.post("/api/v1/auth/login", json={"username": email, "password": PASSWORD,
                                                          "totp_code": pyotp.TOTP(TOTP).at(clock.now())})
        assert response.status_code == 200, response.text
        return http, {"X-CSRF-Token": response.json()["csrf_token"]}

    rao, rao_csrf = login("acp.rao@mumbaipolice.gov.in")
    more, _ = login("si.more@mumbaipolice.gov.in")
    assert request.reference in rao.get("/portal").text  # the supervisor sees the agency's requests
    assert 'id="supervised"' in rao.get(f"/portal/requests/{request.id}").text
    assert more.get(f"/portal/requests/{request.id}").status_code == 404  # a colleague does not
    outside = rao.post(f"/portal/requests/{request.id}/transfer", headers=rao_csrf, data={"to": "agent@ic.fbi.gov"})
    assert outside.status_code == 422 and "only within the agency" in outside.text
    moved = rao.post(f"/portal/requests/{request.id}/transfer", headers=rao_csrf, follow_redirects=False,
                     data={"to": "si.more@mumbaipolice.gov.in"})
    assert moved.status_code == 303, moved.text
    assert more.get(f"/portal/requests/{request.id}").status_code == 200
    patil, _ = login("si.patil@mumbaipolice.gov.in")
    assert patil.get(f"/portal/requests/{request.id}").status_code == 404
    with desk() as db:
        after = db.get(LegalRequest, request.id)
        assert after is not None and after.requester_email == "si.more@mumbaipolice.gov.in"
        assert db.scalars(select(AuditRecord).where(AuditRecord.action == "legal.request.transfer")).one()
        told = db.scalars(select(MailMessage).where(MailMessage.kind == "legal.transferred")).one()
        assert told.to_addrs == ["si.more@mumbaipolice.gov.in"]
        assert db.scalars(select(Requester).where(Requester.email == "si.more@mumbaipolice.gov.in")).one().supervisor \
            is False
