"""Grievance and appeal queues: keyset pages (no OFFSET), exact indexed search, status titles, bad cursors refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from bastion.appeals import service as appeals
from bastion.appeals.models import Appeal
from bastion.auth.roles import Role
from bastion.cases.models import Case
from bastion.clock import ManualClock
from bastion.db.keyset import NEVER
from bastion.errors import InvalidInput
from bastion.grievances import service as grievances
from bastion.grievances.models import Complaint
from tests.conftest import api_login


def _complaints(db: Session, clock: ManualClock, n: int) -> None:
    """n complaints: three priorities, deadlines repeated (ties) or missing, every seventh resolved."""
    now = clock.now()
    db.execute(insert(Complaint), [
        {"reference": f"GR-2026-{i:06d}", "status_token_hash": f"{i:064x}", "channel": "platform", "category": "tos",
         "content_ref": f"post-{i}", "priority": i % 3, "status": "resolved" if i % 7 == 0 else "received",
         "received_at": now, "next_due_at": None if i % 10 == 0 else now + timedelta(hours=i % 13)} for i in range(n)])
    db.commit()


def _case(db: Session, clock: ManualClock) -> int:
    case = Case(account_id="acct-1", status="confirmed", opened_at=clock.now(), updated_at=clock.now())
    db.add(case)
    db.commit()
    return case.id


def _appeals(db: Session, clock: ManualClock, n: int, *, decided: bool = False, start: int = 0) -> None:
    """n appeals on one case, deadlines repeated every 50 (ties broken by id), accounts in ten groups."""
    case_id, now = _case(db, clock), clock.now()
    db.execute(insert(Appeal), [
        {"reference": f"AP-2026-{i:06d}", "case_id": case_id, "account_id": f"acct-{i % 10}", "jurisdiction": "IN",
         "submitted_by": "platform", "status": "decided" if decided else "received", "received_at": now,
         "due_at": now + timedelta(hours=i % 50), "outcome": "upheld" if decided else "",
         "decided_at": now + timedelta(minutes=i % 40) if decided else None} for i in range(start, start + n)])
    db.commit()


def _walk(fetch, size: int) -> list:  # type: ignore[no-untyped-def, type-arg]
    seen, cursor = [], None
    while True:
        page = fetch(cursor=cursor, limit=size)
        assert len(page.rows) <= size
        seen += page.rows
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def _links(client: TestClient, path: str, params: dict[str, str], next_id: str) -> list[str]:
    """Every data-reference on the page and the pages its 'Next page' link leads to."""
    page, refs = client.get(path, params=params), []
    while True:
        assert page.status_code == 200
        refs += [chunk.split('"')[0] for chunk in page.text.split('data-reference="')[1:]]
        if f'id="{next_id}"' not in page.text:
            return refs
        href = page.text.split(f'id="{next_id}"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
        assert "cursor=" in href and "page=" not in href
        page = client.get(href)


def test_the_grievance_queue_walks_every_open_complaint_in_order(db: Session, clock: ManualClock) -> None:
    _complaints(db, clock, 400)
    seen = [c for c, _ in _walk(lambda **k: grievances.queue(db, **k), 23)]
    keys = [(-c.priority, c.next_due_at or NEVER, c.id) for c in seen]
    open_refs = {f"GR-2026-{i:06d}" for i in range(400) if i % 7}
    assert keys == sorted(keys) and len(keys) == len(set(keys)) and {c.reference for c in seen} == open_refs
    assert {c.status for c in seen} == {"received"}
    assert [c.reference for c, _ in grievances.queue(db, search=" gr-2026-000005 ").rows] == ["GR-2026-000005"]
    assert grievances.queue(db, search="GR-2026-00000").rows == []  # exact, never a scan for a fragment
    assert grievances.queue(db, search="post-5").rows == []  # content is not searched: it has no index


def test_appeals_page_past_ten_thousand_rows_without_a_gap(db: Session, clock: ManualClock) -> None:
    _appeals(db, clock, 10_050)
    seen = _walk(lambda **k: appeals.queue(db, **k), 500)
    keys = [(a.due_at, a.id) for a in seen]
    assert len(keys) == 10_050 == len({a.id for a in seen}) and keys == sorted(keys)
    assert seen[-1].reference == "AP-2026-010049"  # the last row is reachable


def test_decided_appeals_page_latest_first(db: Session, clock: ManualClock) -> None:
    _appeals(db, clock, 130, decided=True)
    _appeals(db, clock, 5, start=500)
    seen = _walk(lambda **k: appeals.queue(db, status="decided", **k), 11)
    keys = [(a.decided_at, a.id) for a in seen]
    assert len(keys) == 130 == len(set(keys)) and keys == sorted(keys, reverse=True)
    found = appeals.queue(db, search="acct-3")
    assert {a.account_id for a in found.rows} == {"acct-3"} and len(found.rows) == 1  # AP-2026-000503
    assert [a.reference for a in appeals.queue(db, search="ap-2026-000501").rows] == ["AP-2026-000501"]


@pytest.mark.parametrize("bad", ["%%%", "WzFd", "WyJ4IiwxXQ", "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwxXQ"])
def test_malformed_cursors_are_refused(db: Session, bad: str) -> None:
    with pytest.raises(InvalidInput):
        appeals.queue(db, cursor=bad)
    with pytest.raises(InvalidInput):
        grievances.queue(db, cursor=bad)


def test_the_pages_follow_next_links_and_show_titles(  # type: ignore[no-untyped-def]
        app, client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, user_factory) -> None:
    with sessions() as db:
        _complaints(db, clock, 130)
        _appeals(db, clock, 120)
    api_login(client, user_factory(Role.LEAD), clock)
    refs = _links(client, "/grievances", {}, "grievance-next")
    assert len(refs) == len(set(refs)) == sum(1 for i in range(130) if i % 7)
    page = client.get("/grievances", params={"q": "GR-2026-000001"})
    assert page.text.count("data-reference=") == 1 and ">Received<" in page.text and 'id="grievance-first"' in page.text
    bad = client.get("/grievances", params={"cursor": "%%%"})
    assert 400 <= bad.status_code < 500 and "start again from the first page" in bad.text
    client = TestClient(app)
    api_login(client, user_factory(Role.LEGAL), clock)
    refs = _links(client, "/appeals", {"status": "received"}, "appeal-next")
    assert len(refs) == len(set(refs)) == 120 and refs[-1] == "AP-2026-000099"
    one = client.get("/appeals", params={"q": "acct-7"})
    assert one.text.count("data-reference=") == 12 and ">Open<" in one.text and 'data-status="received"' in one.text
    assert 400 <= client.get("/appeals", params={"cursor": "WzFd"}).status_code < 500
