"""The portal fits the officer's jurisdiction: instruments of their agency's law only; every "more
information" item named by its title with a field to answer it; times rendered for the viewer's zone."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from bastion.auth.roles import Role
from bastion.errors import InvalidInput
from bastion.legal import portal
from bastion.legal.models import LegalRequest, Requester
from tests.conftest import api_login
from tests.legal.conftest import bnss_notice

OFFICER = "si.patil@mumbaipolice.gov.in"


def _officer_client(app, desk, submit, clock, user_factory, **notice):  # type: ignore[no-untyped-def]
    officer = user_factory(Role.OFFICER)
    request = submit(bnss_notice(**notice))
    with desk() as session:
        requester = session.scalars(select(Requester).where(Requester.email == OFFICER)).one()
        requester.user_id, requester.confirmed_at = officer.id, clock.now()
        session.commit()
    http = TestClient(app)
    return http, {"X-CSRF-Token": api_login(http, officer, clock)}, request


def test_an_indian_officer_is_offered_only_indian_and_treaty_instruments(app, desk, submit, clock,  # type: ignore[no-untyped-def]
                                                                          user_factory) -> None:
    http, csrf, _ = _officer_client(app, desk, submit, clock, user_factory)
    form = http.get("/portal/requests/new").text
    offered = set(re.findall(r'<option value="([a-z0-9_]+)">', form))
    assert {"in_bnss_94", "in_crpc_91", "in_itr_3_1_j", "intl_mlat"} <= offered
    assert not offered & {"us_subpoena", "us_2703d", "eu_epoc", "other"}
    refused = http.post("/portal/requests/new", headers=csrf, data={"instrument": "us_subpoena",
                                                                    "accounts": "user_id: a"})
    assert refused.status_code == 422 and "not an instrument your agency can use" in refused.text
    assert "BNSS" in refused.text  # the refusal names what the officer can use
    with desk() as session:
        requester = session.scalars(select(Requester).where(Requester.email == OFFICER)).one()
        with pytest.raises(InvalidInput, match="choose one of"):
            portal.submit_request(session, requester, bnss_notice(instrument="eu_epoc"), clock=clock, vault=None)


def test_every_missing_item_is_named_by_title_and_answerable(app, desk, submit, clock, user_factory) -> None:  # type: ignore[no-untyped-def]
    http, csrf, request = _officer_client(app, desk, submit, clock, user_factory, case_number=None, due_date=None,
                                          categories=[], date_from=None, date_to=None)
    with desk() as session:
        missing = {m["key"] for m in portal._missing(session.get(LegalRequest, request.id))}  # type: ignore[arg-type]
    assert {"case_number", "categories", "date_range", "due_date"} <= missing
    page = http.get(f"/portal/requests/{request.id}").text
    section = page.split('id="missing"', 1)[1].split("</section>", 1)[0]
    assert "The case or FIR number" in section and "case_number" not in re.sub(r'<[^>]+>', "", section)
    answers = set(re.findall(r'data-answers="([a-z_]+)"', section))
    assert missing <= answers  # a field for every question, none missing
    answered = http.post(f"/portal/requests/{request.id}/answer", headers=csrf, follow_redirects=False,
                         data={"case_number": "FIR 112/2026", "categories": ["subscriber", "location"],
                               "date_from": "2024-02-01", "date_to": "2024-03-31", "due_date": "2030-01-20"},
                         files={"document": ("notice.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")})
    assert answered.status_code == 303, answered.text
    with desk() as session:
        after = session.get(LegalRequest, request.id)
        assert after is not None and after.missing_json == "[]" and after.case_number == "FIR 112/2026"
        assert after.date_from is not None and after.stated_due_at is not None


def test_times_are_rendered_as_utc_instants_for_the_viewers_zone(app, desk, submit, clock, user_factory) -> None:  # type: ignore[no-untyped-def]
    http, _, request = _officer_client(app, desk, submit, clock, user_factory)
    page = http.get(f"/portal/requests/{request.id}").text
    stamps = re.findall(r'<time datetime="([^"]+)" data-local="(\w+)"', page)
    assert stamps and all(s.endswith("Z") for s, _ in stamps)
    assert "/static/local-time.js" in page and "strftime" not in page
    timeline = page.split('id="request-timeline"', 1)[1]
    assert "Received" in timeline and "· received" not in timeline  # event titles, not keys
    home = http.get("/portal").text
    assert "BNSS" in home and ">in_bnss_94<" not in home  # the instrument's title, not its key
