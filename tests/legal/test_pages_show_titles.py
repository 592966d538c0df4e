"""Pages for people show titles, never the stored keys: a case's status, an officer's request status,
a request's verification, the signed-in role. The keys stay in data attributes for scripts and tests."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from bastion.auth.roles import Role
from bastion.cases.models import Case, CaseEvent
from bastion.legal.titles import title_of
from tests.conftest import api_login
from tests.legal.conftest import bnss_notice
from tests.legal.test_legal_portal_forms import _officer_client
from tests.workbench.test_wellness_time import _case


def _visible(html: str) -> str:
    """The text a person reads: no tags (so keys inside links and data attributes do not count)."""
    return re.sub(r"<[^>]+>", " ", html)


def test_case_page_names_statuses_and_the_role(client: TestClient, sessions, clock, user_factory) -> None:  # type: ignore[no-untyped-def]
    with sessions() as db:
        case = _case(db, clock)
        prior = _case(db, clock)  # an earlier case of the same account, listed on the page by status
        prior.status = "in_review"
        db.get(Case, case.id).status = "escalated"  # type: ignore[union-attr]
        db.add(CaseEvent(case_id=case.id, at=clock.now(), actor="rev", kind="escalated", from_status="in_review",
                         to_status="escalated", details="{}"))
        db.commit()
    api_login(client, user_factory(Role.LEAD), clock)
    page = client.get(f"/cases/{case.id}").text
    status = re.search(r'<span id="case-status" data-status="escalated">([^<]+)</span>', page)
    assert status is not None and status.group(1) == "Escalated to a second reviewer"
    assert re.search(r'<span class="decision" data-decision="pending">Not decided yet</span>', page)
    text = _visible(page)
    assert "rev · Escalated to a second reviewer (In review → Escalated to a second reviewer)" in " ".join(text.split())
    assert "In review → Escalated to a second reviewer" in text  # the timeline's transition, by titles
    assert "in_review" not in text and "escalated)" not in text
    assert "· Review lead" in text and "· lead" not in text  # the header names the role
    assert "(Review lead)" in _visible(client.get("/").text)


def test_the_officer_reads_their_request_status_as_a_sentence(app, desk, submit, clock, user_factory) -> None:  # type: ignore[no-untyped-def]
    http, _, request = _officer_client(app, desk, submit, clock, user_factory, case_number=None)
    home = http.get("/portal").text
    cell = re.search(r'<td class="status" data-status="([^"]+)">([^<]+)</td>', home)
    assert cell is not None and cell.group(1) == "needs information"
    assert cell.group(2) == "We need more information from you"
    assert "needs information" not in _visible(home)
    own = http.get(f"/portal/requests/{request.id}").text
    assert re.search(r'id="request-status" data-status="needs information">We need more information from you<', own)
    assert "needs information" not in _visible(own)


def test_the_desk_reads_verification_by_title(app, submit, clock, user_factory) -> None:  # type: ignore[no-untyped-def]
    request = submit(bnss_notice())
    http = TestClient(app)
    api_login(http, user_factory(Role.LEGAL), clock)
    page = http.get(f"/legal/requests/{request.id}").text
    shown = re.search(r'data-status="([a-z_]*)">([^<]+)</span></h2>', page)
    assert shown is not None
    key, text = shown.groups()
    assert key in ("held", "verified", "unconfirmed", "")
    assert text == title_of(key, "verification") and text not in ("held", "verified", "unconfirmed", "")
