"""The legal desk's urgency queue: keyset pages in urgency order, no row-500 cap, bad cursors refused."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.errors import InvalidInput
from bastion.legal import clocks
from bastion.legal.models import LegalRequest
from tests.conftest import api_login


def _open_requests(db: Session, clock: ManualClock, n: int) -> None:
    """n open requests with deadlines spread (and repeated, so ties need the id), some undated, some chased."""
    now = clock.now()
    db.execute(insert(LegalRequest), [
        {"reference": f"LQ-{i:05d}", "status": "open", "source": "email", "jurisdiction": "IN",
         "instrument_key": "in_bnss_94", "received_at": now - timedelta(minutes=i % 5), "requester_email": "si@example.org",
         "created_by": "test", "updated_at": now, "priority": i % 3,
         "due_at": None if i % 11 == 0 else now + timedelta(hours=(n - i) % 37),
         "escalated_at": now - timedelta(hours=i % 2) if i % 97 == 5 else None} for i in range(n)])
    db.commit()


def _walk(db: Session, size: int) -> list[LegalRequest]:
    seen, cursor = [], None
    while True:
        page = clocks.queue(db, cursor=cursor, limit=size)
        assert len(page.rows) <= size
        seen += page.rows
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def _urgency(r: LegalRequest) -> tuple:  # type: ignore[type-arg]
    far = datetime(3000, 1, 1, tzinfo=timezone.utc)
    return (r.escalated_at is None, r.escalated_at or far, r.due_at is None, r.due_at or far, -r.priority,
            r.received_at, r.id)


def test_every_open_request_is_reachable_in_urgency_order(db: Session, clock: ManualClock) -> None:
    _open_requests(db, clock, 530)
    db.execute(insert(LegalRequest), [{"reference": "LQ-DONE", "status": "closed", "source": "email", "jurisdiction": "IN",
                                       "instrument_key": "in_bnss_94", "received_at": clock.now(), "closed_at": clock.now(),
                                       "requester_email": "si@example.org", "created_by": "test", "updated_at": clock.now()}])
    db.commit()
    seen = _walk(db, 97)
    ids = [r.id for r in seen]
    assert len(ids) == 530 == len(set(ids))  # no duplicates, no gaps, past the old cap of 500
    keys = [_urgency(r) for r in seen]
    assert keys == sorted(keys)  # the same urgency order, page after page
    assert seen[0].escalated_at is not None and seen[-1].due_at is None
    assert "LQ-DONE" not in {r.reference for r in seen}
    assert len(clocks.queue(db, include_closed=True, limit=500).rows) == 500
    assert clocks.queue(db, include_closed=True, cursor=clocks.queue(db, include_closed=True, limit=500).next_cursor,
                        limit=500).rows.__len__() == 31


@pytest.mark.parametrize("bad", ["%%%", "WzFd", "WyJ4IiwiMjAyNiIsMSwiMjAyNiIsMV0", "W251bGwsbnVsbCwwLG51bGwsMV0"])
def test_a_malformed_cursor_is_refused(db: Session, bad: str) -> None:
    with pytest.raises(InvalidInput):
        clocks.queue(db, cursor=bad)


def test_the_desk_page_and_api_page_past_row_500(  # type: ignore[no-untyped-def]
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, user_factory) -> None:
    with sessions() as db:
        _open_requests(db, clock, 520)
        last = sorted(db.query(LegalRequest).all(), key=_urgency)[-1].reference  # row 520: hidden before
    api_login(client, user_factory(Role.LEGAL), clock)
    page, refs = client.get("/legal"), []
    while True:
        assert page.status_code == 200
        refs += [chunk.split('"')[0] for chunk in page.text.split('data-reference="')[1:]]
        if 'id="legal-next"' not in page.text:
            break
        href = page.text.split('id="legal-next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
        assert "after=" in href
        page = client.get(href)
    assert len(refs) == 520 == len(set(refs)) and refs[-1] == last and 'id="legal-first"' in page.text
    bad = client.get("/legal", params={"after": "%%%"})
    assert 400 <= bad.status_code < 500 and "start again from the first page" in bad.text
    api, cursor, total = client.get("/api/v1/legal/requests", params={"limit": 300}), None, 0
    total += len(api.json())
    cursor = api.headers["X-Next-Cursor"]
    rest = client.get("/api/v1/legal/requests", params={"limit": 300, "cursor": cursor})
    assert total + len(rest.json()) == 520 and "X-Next-Cursor" not in rest.headers
    assert rest.json()[-1]["reference"] == last
