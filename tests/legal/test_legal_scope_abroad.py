"""Where the data sits and what notice the law asks for (issue 17 finding 5): content held by a US
provider is flagged on a foreign domestic order (the route is an MLAT) and the non-content subset is
offered; in India notice may be withheld and never holds up production; where the instrument's rule
makes notice a precondition (a US 2703(d) order without an NDO), production still waits for it."""

from __future__ import annotations


import pytest
from fastapi.testclient import TestClient

from bastion import orgsettings
from bastion.auth.roles import Role
from bastion.legal import catalogue, intake, notice
from bastion.legal.errors import WrongState
from bastion.legal.models import LegalRequest
from tests.conftest import api_login
from tests.legal.conftest import bnss_notice


def test_content_held_by_a_us_provider_is_flagged_and_the_non_content_subset_offered(app, desk, submit, clock,  # type: ignore[no-untyped-def]
                                                                                      user_factory) -> None:
    plain = submit(bnss_notice())
    with desk() as session:
        assert session.get(LegalRequest, plain.id).scope_json == "[]"  # type: ignore[union-attr]  # default: no limit
        orgsettings.set_value(session, "legal.content_held_by", "US", actor="admin", clock=clock)
        session.commit()
    request = submit(bnss_notice(case_number="FIR 3/2026"))
    view = TestClient(app)
    api_login(view, user_factory(Role.LEGAL), clock)
    scope = view.get(f"/api/v1/legal/requests/{request.id}").json()["validation"]["scope"]
    assert [f["category"] for f in scope] == ["content"]
    assert "18 U.S.C. 2702" in scope[0]["reason"] and "mutual legal assistance" in scope[0]["reason"]
    page = view.get(f"/legal/requests/{request.id}").text
    form = page.split('action="/legal/requests/%d/decision"' % request.id, 1)[1].split("</form>", 1)[0]
    assert 'value="content">' in form and 'value="subscriber" checked' in form and 'value="location" checked' in form
    assert 'id="subset-offer"' in form and "Content" in form
    mlat = submit(bnss_notice(instrument="intl_mlat", case_number="MLAT 1/2026", court="Special Court, Mumbai"))
    with desk() as session:  # a treaty request is the route for content: nothing flagged
        assert session.get(LegalRequest, mlat.id).scope_json == "[]"  # type: ignore[union-attr]
        us = submit(bnss_notice(instrument="us_warrant", requester_email="agent@ic.fbi.gov",
                                court="US District Court", issuing_authority="FBI Field Office (demo)"))
        assert session.get(LegalRequest, us.id).scope_json == "[]"  # type: ignore[union-attr]


def test_india_defers_notice_but_a_us_order_still_waits_for_it(desk, submit, clock) -> None:  # type: ignore[no-untyped-def]
    indian = submit(bnss_notice())
    american = submit(bnss_notice(instrument="us_2703d", requester_email="agent@ic.fbi.gov", court="US District Court",
                                  issuing_authority="FBI Field Office (demo)", case_number="1:26-mj-0001"))
    with desk() as session:
        rule = catalogue.get_instrument(session, "in_bnss_94")
        assert rule.notice.get("may_delay") and str(rule.as_of) == "2026-12-04" and "s.94(1)" in rule.citation
        first, second = session.get(LegalRequest, indian.id), session.get(LegalRequest, american.id)
        assert first is not None and second is not None
        assert first.notice_status == "deferred" and not notice.blocks_disclosure(first)
        assert second.notice_status == "pending" and notice.blocks_disclosure(second)
        notice.send(session, first, to="holder@example.com", actor="legal", clock=clock)  # still possible, by choice
        assert first.notice_status == "sent"
        second.ndo, second.ndo_expires_at = True, None
        intake.refresh(session, second, actor="legal", clock=clock)
        assert second.notice_status == "deferred"
        with pytest.raises(WrongState):  # a gag order's deferral is not optional
            notice.send(session, second, to="holder@example.com", actor="legal", clock=clock)
