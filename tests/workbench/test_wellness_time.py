"""Reveals last one page load and end with the case; the daily exposure cap stops assignment until a lead lifts it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.audit.models import AuditRecord
from bastion.auth.models import User
from bastion.auth.roles import Role
from bastion.cases import service, wellness
from bastion.cases.errors import ExposureCapReached
from bastion.cases.models import Case, CaseItem
from bastion.clock import ManualClock
from bastion.errors import InvalidInput
from bastion.orgsettings import set_value
from tests.conftest import api_login


def _case(db: Session, clock: ManualClock, account: str = "acct-1") -> Case:
    case = Case(account_id=account, status="new", priority=10, opened_at=clock.now(), updated_at=clock.now(),
                removal_due_at=clock.now() + timedelta(hours=24))
    db.add(case)
    db.flush()
    db.add(CaseItem(case_id=case.id, scan_id=case.id, content_id=f"post-{case.id}", bank_id=1, bank_name="KNOWN",
                    entry_id=1, signal_type="pdq", distance=4, added_at=clock.now()))
    db.commit()
    return case


def _user(db: Session, user_factory, role: Role = Role.REVIEWER) -> User:  # type: ignore[no-untyped-def]
    return db.get(User, user_factory(role).id)  # type: ignore[return-value]


def test_a_reveal_is_shown_on_one_page_load_then_blurs(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    case, who = _case(db, clock), _user(db, user_factory).id
    item = service.items_of(db, case.id)[0]
    wellness.reveal(db, who, item.id, clock)
    assert wellness.on_page_load(db, who) == item.id  # the page right after the reveal shows it
    assert wellness.revealed_item(db, who) == item.id  # and the image request it makes is still allowed
    assert wellness.on_page_load(db, who) is None  # a reload blurs it again
    assert wellness.revealed_item(db, who) is None


def test_concluding_a_case_blurs_its_items_for_everyone(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    reviewer, lead, elsewhere = _user(db, user_factory), _user(db, user_factory, Role.LEAD), _user(db, user_factory)
    case, other = _case(db, clock), _case(db, clock, "acct-2")
    service.claim(db, case, reviewer, clock=clock)
    item = service.items_of(db, case.id)[0]
    wellness.reveal(db, reviewer.id, item.id, clock)
    wellness.reveal(db, lead.id, item.id, clock)
    wellness.reveal(db, elsewhere.id, service.items_of(db, other.id)[0].id, clock)
    service.reject_item(db, case, item, reviewer, reason="different", disable_entry=False, clock=clock)
    service.conclude(db, case, reviewer, clock=clock)
    db.commit()
    assert wellness.revealed_item(db, reviewer.id) is None and wellness.revealed_item(db, lead.id) is None
    assert wellness.revealed_item(db, elsewhere.id) is not None  # another case's reveal is untouched


def test_the_daily_cap_stops_assignment_until_a_lead_lifts_it(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    reviewer = _user(db, user_factory)
    set_value(db, "wellness.daily_cap", "2", actor="admin", clock=clock)
    for n in range(3):
        _case(db, clock, f"acct-{n}")
    first = service.next_case(db, reviewer, clock=clock)
    assert first is not None
    for item in service.items_of(db, first.id):
        wellness.reveal(db, reviewer.id, item.id, clock)
        wellness.reveal(db, reviewer.id, item.id, clock)
    service.release(db, first, reviewer, clock=clock)
    db.commit()
    with pytest.raises(ExposureCapReached):
        service.next_case(db, reviewer, clock=clock)
    with pytest.raises(InvalidInput):
        wellness.lift_cap(db, reviewer.id, lead="lena", reason="  ", clock=clock)
    wellness.lift_cap(db, reviewer.id, lead="lena", reason="backlog of court-ordered removals", clock=clock)
    db.commit()
    assert service.next_case(db, reviewer, clock=clock) is not None
    lifted = db.scalar(select(AuditRecord).where(AuditRecord.action == "wellness.cap_lifted"))
    assert lifted is not None and lifted.actor == "lena" and "court-ordered" in lifted.details
    clock.advance(timedelta(days=1))  # a new day starts uncapped and unlifted
    assert not wellness.exposure(db, reviewer.id, clock).capped


def test_cap_over_http_reviewer_is_told_and_only_a_lead_lifts(client: TestClient, app, sessions, clock: ManualClock,  # type: ignore[no-untyped-def]
                                                              user_factory) -> None:
    with sessions() as db:
        set_value(db, "wellness.daily_cap", "1", actor="admin", clock=clock)
        db.commit()
        case = _case(db, clock)
        item_id = service.items_of(db, case.id)[0].id
    reviewer = user_factory(Role.REVIEWER)
    csrf = {"X-CSRF-Token": api_login(client, reviewer, clock)}
    assert client.post("/api/v1/cases/next", headers=csrf).json()["id"] == case.id
    assert client.post(f"/cases/{case.id}/items/{item_id}/reveal", headers=csrf,
                       follow_redirects=False).status_code == 303
    client.post(f"/api/v1/cases/{case.id}/release", headers=csrf)
    refused = client.post("/api/v1/cases/next", headers=csrf)
    assert refused.status_code == 409 and refused.json()["code"] == "exposure_cap_reached"
    assert "exposure-capped" in client.get("/review").text
    assert client.post(f"/review/exposure/{reviewer.id}/lift", data={"reason": "me"}, headers=csrf,
                       follow_redirects=False).status_code == 403
    lead_client = TestClient(app)
    lead_csrf = {"X-CSRF-Token": api_login(lead_client, user_factory(Role.LEAD), clock)}
    assert reviewer.username in lead_client.get("/review").text.split('id="capped-reviewers"')[1]
    assert lead_client.post(f"/review/exposure/{reviewer.id}/lift", data={"reason": "urgent queue"},
                            headers=lead_csrf, follow_redirects=False).status_code == 303
    assert client.post("/api/v1/cases/next", headers=csrf).json()["id"] == case.id


def test_case_page_shows_a_reveal_once(client: TestClient, sessions, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    with sessions() as db:
        case = _case(db, clock)
        item_id = service.items_of(db, case.id)[0].id
    csrf = {"X-CSRF-Token": api_login(client, user_factory(Role.REVIEWER), clock)}
    client.post(f"/api/v1/cases/{case.id}/claim", headers=csrf)
    client.post(f"/cases/{case.id}/items/{item_id}/reveal", headers=csrf, follow_redirects=False)
    assert 'class="revealed"' in client.get(f"/cases/{case.id}").text
    assert 'class="revealed"' not in client.get(f"/cases/{case.id}").text  # reloaded: blurred again
