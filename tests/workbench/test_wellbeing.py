"""The wellbeing figures, read back from exposures, breaks, views and decisions; and who may read them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.audit.models import AuditRecord
from bastion.auth.roles import Role
from bastion.cases import break_timer, wellbeing, wellness
from bastion.cases.errors import ReviewerNotFound
from bastion.cases.models import Case, CaseItem
from bastion.clock import ManualClock
from bastion.orgsettings import set_value
from tests.conftest import api_key, api_login


def _decided(db: Session, clock: ManualClock, user_id: int, n: int) -> None:
    """`n` items this reviewer decided now (the rows a decision leaves)."""
    case = Case(account_id="acct", status="concluded", priority=1, opened_at=clock.now(), updated_at=clock.now(),
                removal_due_at=clock.now())
    db.add(case)
    db.flush()
    for i in range(n):
        db.add(CaseItem(case_id=case.id, scan_id=case.id * 100 + i, content_id=f"post-{case.id}-{i}", bank_id=1,
                        bank_name="KNOWN", entry_id=1, signal_type="pdq", distance=4, added_at=clock.now(),
                        decided_by=user_id, decided_at=clock.now()))


def _fortnight(db: Session, clock: ManualClock, user_id: int, username: str) -> None:
    """Three working days ending today (2026-01-03), the clock left at 10:25 on the last."""
    set_value(db, "wellness.daily_cap", "10", actor="admin", clock=clock)
    set_value(db, "review.break_after_minutes", "30", actor="admin", clock=clock)
    set_value(db, "review.idle_reset_minutes", "60", actor="admin", clock=clock)  # 35 quiet minutes stay one session
    for item in (1, 2, 3):  # 1 January, 09:00
        wellness.reveal(db, user_id, item, clock)
    wellness.exposure_row(db, user_id, clock).video_seconds = 150
    break_timer.take_break(db, user_id, actor=username, clock=clock)
    clock.advance(timedelta(days=1))  # 2 January
    wellness.reveal(db, user_id, 4, clock)
    _decided(db, clock, user_id, 2)
    clock.advance(timedelta(days=1))  # 3 January, 09:00
    wellness.reveal(db, user_id, 5, clock)
    wellness.reveal(db, user_id, 6, clock)
    audit.record(db, actor=username, action="media.view", subject="case_item:6", clock=clock)
    audit.record(db, actor="someone-else", action="media.view", subject="case_item:6", clock=clock)
    wellness.exposure_row(db, user_id, clock).video_seconds = 95
    _decided(db, clock, user_id, 1)
    clock.advance(timedelta(minutes=40))
    break_timer.take_break(db, user_id, actor=username, clock=clock)  # 09:40
    clock.advance(timedelta(minutes=10))
    wellness.reveal(db, user_id, 7, clock)  # a new session from 09:50
    clock.advance(timedelta(minutes=35))  # now 10:25
    db.commit()


def test_figures_over_several_days(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    user = user_factory(Role.REVIEWER)
    _fortnight(db, clock, user.id, user.username)
    seen = wellbeing.figures(db, user.id, clock)
    assert seen.username == user.username
    assert (seen.today.revealed_today, seen.today.cap, seen.today.soft_limit) == (3, 10, 100)
    assert seen.full_views == 1  # only this reviewer's full view
    assert (seen.today.video_seconds, seen.video_minutes_today) == (95, 1)
    assert seen.today.session_minutes == 35 and seen.today.break_due  # past the 30 minutes, a suggestion
    assert seen.session_started_at == clock.now() - timedelta(minutes=35)
    assert seen.breaks_today == 1 and seen.last_break_at == clock.now() - timedelta(minutes=45)
    assert len(seen.days) == wellbeing.DAYS and seen.days[-1].day == clock.now().date()
    assert seen.days[0].day == clock.now().date() - timedelta(days=13)
    assert [(d.revealed, d.video_seconds, d.decided, d.breaks) for d in seen.days[-3:]] == [
        (3, 150, 0, 1), (1, 0, 2, 0), (3, 95, 1, 1)]
    assert all((d.revealed, d.video_seconds, d.decided, d.breaks) == (0, 0, 0, 0) for d in seen.days[:-3])


def test_the_fortnight_moves_on_and_a_new_day_starts_fresh(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    user = user_factory(Role.REVIEWER)
    _fortnight(db, clock, user.id, user.username)
    clock.advance(timedelta(days=12))  # 15 January: 1 January has left the window
    seen = wellbeing.figures(db, user.id, clock)
    assert seen.today.revealed_today == 0 and seen.breaks_today == 0 and seen.full_views == 0
    assert seen.session_started_at is None and seen.today.session_minutes == 0
    assert [d.revealed for d in seen.days[:2]] == [1, 3] and sum(d.revealed for d in seen.days) == 4
    assert sum(d.breaks for d in seen.days) == 1 and sum(d.decided for d in seen.days) == 3


def test_only_reviewers_and_leads_have_pages_and_the_list_pages_by_name(db: Session, clock: ManualClock,  # type: ignore[no-untyped-def]
                                                                        user_factory) -> None:
    admin = user_factory(Role.ADMIN)
    with pytest.raises(ReviewerNotFound):
        wellbeing.reviewer(db, admin.id)
    people = sorted([user_factory(Role.REVIEWER), user_factory(Role.REVIEWER), user_factory(Role.LEAD)],
                    key=lambda u: u.username)
    wellness.reveal(db, people[1].id, 1, clock)
    db.commit()
    first = wellbeing.reviewers(db, clock, size=2)
    assert [name for _, name, _ in first.rows] == [p.username for p in people[:2]]
    assert first.rows[1][2] == 1 and first.next_cursor == people[1].username
    rest = wellbeing.reviewers(db, clock, size=2, cursor=first.next_cursor)
    assert [name for _, name, _ in rest.rows] == [people[2].username] and rest.next_cursor is None
    found = wellbeing.reviewers(db, clock, search=people[2].username.upper())
    assert [uid for uid, _, _ in found.rows] == [people[2].id]


# -- over HTTP -------------------------------------------------------------------------------------

def _viewed(sessions, subject: str) -> list[AuditRecord]:  # type: ignore[no-untyped-def]
    with sessions() as db:
        return list(db.scalars(select(AuditRecord).where(AuditRecord.action == "wellness.viewed",
                                                         AuditRecord.subject == subject)))


def test_a_reviewer_reads_their_own_page_and_no_one_elses(app, sessions, clock: ManualClock,  # type: ignore[no-untyped-def]
                                                          user_factory) -> None:
    me, other = user_factory(Role.REVIEWER), user_factory(Role.REVIEWER)
    with sessions() as db:
        _fortnight(db, clock, me.id, me.username)
        wellness.reveal(db, other.id, 9, clock)
        db.commit()
    client = TestClient(app)
    api_login(client, me, clock)
    page = client.get("/review/wellbeing")
    assert page.status_code == 200 and me.username in page.text
    assert '<td id="revealed-today">3</td>' in page.text and '<td id="breaks-today">1</td>' in page.text
    assert '<td id="session-minutes">35 min</td>' in page.text and "good moment for a break" in page.text
    assert 'id="my-wellbeing"' in client.get("/review").text
    chart = client.get("/review/wellbeing/chart.svg")
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    assert chart.text.count('id="bar-items_revealed-') == wellbeing.DAYS
    for path in (f"/review/wellbeing/{other.id}", f"/review/wellbeing/{other.id}/chart.svg",
                 "/review/wellbeing/reviewers"):
        refused = client.get(path)
        assert refused.status_code == 403 and other.username not in refused.text
    assert _viewed(sessions, f"user:{other.id}") == []


def test_a_lead_reads_a_reviewers_page_and_it_is_audited(app, sessions, clock: ManualClock,  # type: ignore[no-untyped-def]
                                                         user_factory) -> None:
    reviewer, lead = user_factory(Role.REVIEWER), user_factory(Role.LEAD)
    with sessions() as db:
        _fortnight(db, clock, reviewer.id, reviewer.username)
    client = TestClient(app)
    api_login(client, lead, clock)
    assert 'id="reviewers-wellbeing"' in client.get("/review").text
    listing = client.get("/review/wellbeing/reviewers", params={"q": reviewer.username})
    assert f'href="/review/wellbeing/{reviewer.id}"' in listing.text
    page = client.get(f"/review/wellbeing/{reviewer.id}")
    assert page.status_code == 200 and f"Wellbeing of {reviewer.username}" in page.text
    assert '<td id="revealed-today">3</td>' in page.text and "audit log" in page.text
    assert client.get(f"/review/wellbeing/{reviewer.id}/chart.svg").status_code == 200
    viewed = _viewed(sessions, f"user:{reviewer.id}")
    assert [r.actor for r in viewed] == [lead.username] * 2
    admin_id = user_factory(Role.ADMIN).id
    assert client.get(f"/review/wellbeing/{admin_id}").status_code == 404  # not a reviewer: no page
    assert _viewed(sessions, f"user:{admin_id}") == []


def test_admins_and_api_keys_without_the_scope_are_refused(client: TestClient, app, sessions, clock: ManualClock,  # type: ignore[no-untyped-def]
                                                           user_factory) -> None:
    reviewer = user_factory(Role.REVIEWER)
    admin = TestClient(app)
    api_login(admin, user_factory(Role.ADMIN), clock)
    assert admin.get(f"/review/wellbeing/{reviewer.id}").status_code == 403
    assert admin.get("/review/wellbeing").status_code == 403
    key = api_key(client, sessions, clock, role=Role.LEAD, scopes=["cases.read"])
    assert client.get(f"/review/wellbeing/{reviewer.id}", headers=key).status_code == 403
    assert client.get("/review/wellbeing", headers=key).status_code == 403
    assert _viewed(sessions, f"user:{reviewer.id}") == []


def test_a_leads_own_stepped_up_key_with_the_scope_reads_it_audited(app, sessions, clock: ManualClock,  # type: ignore[no-untyped-def]
                                                                   user_factory) -> None:
    reviewer, lead = user_factory(Role.REVIEWER), user_factory(Role.LEAD)
    admin = TestClient(app)
    admin_csrf = {"X-CSRF-Token": api_login(admin, user_factory(Role.ADMIN), clock)}
    refused = admin.post("/api/v1/apikeys", json={"owner": lead.username, "name": "x", "scopes": ["review.lead"]},
                         headers=admin_csrf)
    assert refused.status_code == 403  # a sensitive scope only on the owner's own key, after a fresh code
    own = TestClient(app)
    csrf = {"X-CSRF-Token": api_login(own, lead, clock)}
    clock.advance(timedelta(seconds=31))  # the next TOTP step: a code is never accepted twice
    minted = own.post("/api/v1/account/apikeys", headers=csrf, json={
        "name": "care", "scopes": ["review.lead"], "totp_code": lead.code(clock)})
    assert minted.status_code == 201, minted.text
    tool = TestClient(app)
    key = {"Authorization": f"Bearer {minted.json()['key']}"}
    assert tool.get(f"/review/wellbeing/{reviewer.id}", headers=key).status_code == 200
    assert tool.get("/review/wellbeing", headers=key).status_code == 403  # media.view was not asked for
    [viewed] = _viewed(sessions, f"user:{reviewer.id}")
    assert viewed.actor.startswith(f"{lead.username} (key ")
