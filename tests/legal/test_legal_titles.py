"""Pages show titles, never the desk's stored keys (statuses, decisions, notice states)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from bastion.auth.roles import Role
from bastion.legal import review
from bastion.legal.models import LegalRequest
from bastion.legal.titles import TITLES
from tests.conftest import api_login
from tests.legal.conftest import bnss_notice
from tests.legal.test_legal_clock_and_review import _confirm, _legal_users, _user

KEYS = {key for kind in TITLES.values() for key in kind if "_" in key}  # the ones a person could not read


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)  # tags and their attributes go; what a reader sees stays


def test_the_request_page_and_queue_show_no_raw_keys(app, desk, submit, clock, user_factory) -> None:  # type: ignore[no-untyped-def]
    request = submit(bnss_notice(offence="BNS s.318"))
    [alice_id] = _legal_users(desk, user_factory)
    with desk() as session:
        request = session.get(LegalRequest, request.id)
        _confirm(session, request, clock)
        alice = _user(session, alice_id)
        review.decide(session, request, alice, outcome="produce_in_part", categories=["subscriber"],
                      reason="Content needs a further order.", actor=alice.username, clock=clock)
        session.commit()
    staff = TestClient(app)
    api_login(staff, user_factory(Role.LEGAL), clock)
    for path in (f"/legal/requests/{request.id}", "/legal"):
        text = _visible_text(staff.get(path).text)
        shown = sorted(k for k in KEYS if re.search(rf"(?<![\w/.-]){re.escape(k)}(?![\w/.-])", text))
        assert not shown, f"{path} shows raw keys: {shown}"
    page = staff.get(f"/legal/requests/{request.id}").text
    assert "Waiting for a second approver" in page and "Produce in part" in page
