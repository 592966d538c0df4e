"""Legal requests list: search by reference, filter by status (titles shown), keyset pages, no cap."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.errors import InvalidInput
from bastion.legal import listing
from bastion.legal.models import LegalRequest
from tests.conftest import api_login


def _requests(db: Session, clock: ManualClock, n: int) -> None:
    now = clock.now()
    db.execute(insert(LegalRequest), [
        {"reference": f"LR-2026-{i:05d}", "status": "closed" if i % 4 == 0 else "open", "source": "email",
         "jurisdiction": "IN", "instrument_key": "in_bnss_94", "received_at": now, "requester_email": "si@example.org",
         "created_by": "test", "updated_at": now} for i in range(n)])
    db.commit()


def test_search_pages_newest_first_and_filters(db: Session, clock: ManualClock) -> None:
    _requests(db, clock, 1_030)
    seen, cursor = [], None
    while True:
        page = listing.search_page(db, status="closed", cursor=cursor, limit=97)
        seen += page.rows
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    ids = [r.id for r in seen]
    assert len(ids) == 258 and ids == sorted(ids, reverse=True) and {r.status for r in seen} == {"closed"}
    assert [r.reference for r in listing.search_page(db, reference=" LR-2026-00042 ").rows] == ["LR-2026-00042"]
    assert listing.search_page(db, reference="LR-2026-00042", status="closed").rows == []


@pytest.mark.parametrize("bad", [{"reference": "x" * 33}, {"status": "bogus"}, {"cursor": "%%%"}])
def test_bad_searches_are_refused(db: Session, bad: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        listing.search_page(db, **bad)


def test_legal_page_searches_and_pages(  # type: ignore[no-untyped-def]
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, user_factory) -> None:
    with sessions() as db:
        _requests(db, clock, 70)
    api_login(client, user_factory(Role.LEGAL), clock)
    found = client.get("/legal", params={"status": "open"})
    assert found.status_code == 200 and found.text.count("data-reference=") == 50 and 'id="legal-next"' in found.text
    assert 'data-status="closed"' not in found.text and ">Open<" in found.text
    href = found.text.split('id="legal-next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    rest = client.get(href)
    assert rest.text.count("data-reference=") == 2 and 'id="legal-next"' not in rest.text  # 52 open in all
    one = client.get("/legal", params={"q": "LR-2026-00008"})
    assert one.text.count("data-reference=") == 1 and "Closed" in one.text
    assert "<img" not in one.text.split('id="legal-queue"')[1]
    assert client.get("/legal", params={"status": "bogus"}).status_code == 422
    reviewer = TestClient(client.app)
    api_login(reviewer, user_factory(Role.REVIEWER), clock)
    assert reviewer.get("/legal", params={"q": "LR-2026-00008"}).status_code == 403
