"""A request about child sexual abuse tells the user nothing by default, and staff can mark one as such.

The founding case was an FIR under POCSO and IT Act s.67B: notifying the suspect must never stand
between the police and the data, so such a request is a child-safety case from intake on.
"""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from bastion.auth.roles import Role
from bastion.legal.models import LegalRequest
from bastion.legal.timeline import events_of
from tests.conftest import api_login
from tests.legal.conftest import bnss_notice


def test_a_notice_citing_pocso_or_67b_is_a_child_safety_case_with_no_user_notice(desk, submit) -> None:  # type: ignore[no-untyped-def]
    request = submit(bnss_notice(offence="POCSO Act 2012 ss.13-15; IT Act 2000 s.67B; BNS s.294"))
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        assert request.child_safety and request.notice_status == "not_required"
        assert any(e.kind == "child_safety" and "POCSO" in e.text for e in events_of(session, request.id))


def test_staff_mark_a_request_as_a_child_safety_case_from_its_page(app, desk, submit, clock, user_factory) -> None:  # type: ignore[no-untyped-def]
    request = submit(bnss_notice(offence="BNS s.318 (cheating)"))
    with desk() as session:
        assert session.get(LegalRequest, request.id).notice_status == "deferred"  # India: may be withheld, never a precondition  # type: ignore[union-attr]
    staff = TestClient(app)
    csrf = {"X-CSRF-Token": api_login(staff, user_factory(Role.LEGAL), clock)}
    page = staff.get(f"/legal/requests/{request.id}")
    assert 'id="mark-child-safety"' in page.text
    marked = staff.post(f"/legal/requests/{request.id}/child-safety", headers=csrf, follow_redirects=False)
    assert marked.status_code in (200, 303), marked.text
    with desk() as session:
        after = session.get(LegalRequest, request.id)
        assert after.child_safety and after.notice_status == "not_required"  # type: ignore[union-attr]


def test_an_indian_notice_carries_its_fir_and_sections_through_portal_and_page(app, desk, clock, user_factory) -> None:  # type: ignore[no-untyped-def]
    """The officer types what the notice carries; staff see it; POCSO in the sections makes it child safety."""
    from datetime import date

    from sqlalchemy import select

    from bastion.legal import intake
    from bastion.legal.models import Requester
    from bastion.legal.schemas import SectionIn
    from tests.legal.conftest import PDF

    officer = user_factory(Role.OFFICER)
    with desk() as session:
        session.add(Requester(email="si.patil@mumbaipolice.gov.in", name="SI A. Patil", user_id=officer.id,
                              confirmed_at=clock.now(), created_at=clock.now()))
        session.commit()
    http = TestClient(app)
    csrf = {"X-CSRF-Token": api_login(http, officer, clock)}
    sent = http.post("/portal/requests/new", headers=csrf, follow_redirects=False, data={
        "instrument": "in_bnss_94", "issuing_authority": "Mumbai Police Cyber Cell", "issuing_officer": "A. Patil",
        "phone": "+91 22 5550 0123", "case_number": "FIR 112/2026", "fir_number": "112/2026",
        "police_station": "Cyber Police Station (West)", "district": "Mumbai Suburban", "officer_rank": "Sub-Inspector",
        "sections": "POCSO Act, 2012: 14\nIT Act, 2000: 67B\nBNS: 294", "notice_date": "2026-01-01",
        "accounts": "user_id: acct-1001", "categories": ["subscriber"], "date_from": "2024-02-01",
        "date_to": "2024-03-31", "due_date": "2026-01-20"}, files={"document": ("notice.pdf", PDF, "application/pdf")})
    assert sent.status_code == 303, sent.text
    with desk() as session:
        request = session.scalars(select(LegalRequest)).one()
        assert (request.fir_number, request.police_station, request.district, request.officer_rank) == (
            "112/2026", "Cyber Police Station (West)", "Mumbai Suburban", "Sub-Inspector")
        assert request.notice_date == date(2026, 1, 1) and request.child_safety
        assert [SectionIn(**x).act for x in json.loads(request.sections_json)] == [
            "POCSO Act, 2012", "IT Act, 2000", "BNS"]
        rid = request.id
        assert intake.accounts_of(session, rid)
    staff = TestClient(app)
    api_login(staff, user_factory(Role.LEGAL), clock)
    page = staff.get(f"/legal/requests/{rid}").text
    assert "Cyber Police Station (West)" in page and "POCSO Act, 2012 s.14" in page and "Sub-Inspector" in page
    bad = http.post("/portal/requests/new", headers=csrf, data={"instrument": "in_bnss_94", "sections": "no act here",
                                                              "accounts": "user_id: a"})
    assert bad.status_code == 422 and "Section line 1" in bad.text
