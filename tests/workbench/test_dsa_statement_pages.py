"""DSA statements list: keyset pages newest first (no OFFSET), by state or exact puid, bad cursors refused."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.dsa.build import listing
from bastion.dsa.models import STATES, DsaStatement
from bastion.errors import InvalidInput
from tests.conftest import api_login, make_user


def _statements(db: Session, clock: ManualClock, n: int) -> None:
    db.execute(insert(DsaStatement), [
        {"notice_id": i, "puid": f"bastion-SR-{i:06d}", "category": "STATEMENT_CATEGORY_ILLEGAL_CONTENT",
         "status": STATES[i % 4], "payload": {}, "created_at": clock.now()} for i in range(n)])
    db.commit()


def _walk(db: Session, size: int, status: str = "") -> list[DsaStatement]:
    seen, cursor = [], None
    while True:
        page = listing(db, status=status, cursor=cursor, limit=size)
        seen += page.rows
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def test_statements_page_newest_first_without_gaps(db: Session, clock: ManualClock) -> None:
    _statements(db, clock, 530)
    ids = [row.id for row in _walk(db, 97)]
    assert len(ids) == 530 == len(set(ids)) and ids == sorted(ids, reverse=True)
    held = _walk(db, 13, status="held")
    assert len(held) == 132 and {row.status for row in held} == {"held"}
    assert [row.puid for row in listing(db, puid=" bastion-SR-000042 ").rows] == ["bastion-SR-000042"]
    assert listing(db, puid="bastion-SR-00004").rows == []  # exact: a fragment is not a search


@pytest.mark.parametrize("bad", [{"cursor": "%%%"}, {"cursor": "WyJ4Il0"}, {"puid": "x" * 501}, {"limit": 501}])
def test_bad_listings_are_refused(db: Session, bad: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidInput):
        listing(db, **bad)


def test_the_page_follows_next_links(client: TestClient, sessions: sessionmaker[Session], clock: ManualClock) -> None:
    with sessions() as db:
        _statements(db, clock, 240)
    api_login(client, make_user(sessions, clock, Role.COMPLIANCE), clock)
    page, puids = client.get("/dsa/statements", params={"status": "refused"}), []
    while True:
        assert page.status_code == 200
        puids += [chunk.split('"')[0] for chunk in page.text.split('data-puid="')[1:]]
        if 'id="dsa-next"' not in page.text:
            break
        href = page.text.split('id="dsa-next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
        assert "status=refused" in href and "cursor=" in href
        page = client.get(href)
    assert len(puids) == len(set(puids)) == 60 and 'id="dsa-first"' in page.text
    one = client.get("/dsa/statements", params={"q": "bastion-SR-000007"})
    assert one.text.count("data-puid=") == 1 and "Refused (60)" in one.text
    bad = client.get("/dsa/statements", params={"cursor": "%%%"})
    assert 400 <= bad.status_code < 500 and "start again from the first page" in bad.text
