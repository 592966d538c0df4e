"""A request about child sexual abuse tells the user nothing by default, and staff can mark one as such.

The founding case was an FIR under POCSO and IT Act s.67B: notifying the suspect must never stand
between the police and the data, so such a request is a child-safety case from intake on.
"""

from __future__ import annotations

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
        assert session.get(LegalRequest, request.id).notice_status == "pending"  # type: ignore[union-attr]
    staff = TestClient(app)
    csrf = {"X-CSRF-Token": api_login(staff, user_factory(Role.LEGAL), clock)}
    page = staff.get(f"/legal/requests/{request.id}")
    assert 'id="mark-child-safety"' in page.text
    marked = staff.post(f"/legal/requests/{request.id}/child-safety", headers=csrf, follow_redirects=False)
    assert marked.status_code in (200, 303), marked.text
    with desk() as session:
        after = session.get(LegalRequest, request.id)
        assert after.child_safety and after.notice_status == "not_required"  # type: ignore[union-attr]
