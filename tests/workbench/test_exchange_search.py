"""Exchanges list: name-prefix search in any case, state filter shown by title, keyset pages beside contributions."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.errors import InvalidInput
from bastion.exchanges import listing
from bastion.exchanges.models import Exchange
from tests.conftest import api_login

_STATUS = ("idle", "ok", "error", "auth_failed")


def _exchanges(db: Session, clock: ManualClock, n: int) -> None:
    """n url_list exchanges LIST_000.. cycling through four statuses (every seventh paused), and two others."""
    now = clock.now()
    rows = [{"name": f"LIST_{i:03d}", "api": "url_list", "status": _STATUS[i % 4], "paused": i % 7 == 0,
             "created_at": now, "updated_at": now} for i in range(n)]
    rows += [{"name": name, "api": "url_list", "created_at": now, "updated_at": now} for name in ("NCMEC", "LISTX")]
    db.execute(insert(Exchange), rows)
    db.commit()


def _walk(db: Session, limit: int, **filters: str) -> list[str]:
    seen, cursor = [], None
    while True:
        page = listing.exchanges_page(db, cursor=cursor, limit=limit, **filters)
        seen += [e.name for e in page.rows]
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def test_exchanges_page_walks_every_match_once(db: Session, clock: ManualClock) -> None:
    _exchanges(db, clock, 120)
    assert _walk(db, 7, name="list_") == [f"LIST_{i:03d}" for i in range(120)]  # "_" literal: LISTX is out
    every = _walk(db, 5, name="List")  # where LISTX falls among LIST_nnn is the database collation's business
    assert len(every) == 121 and set(every) == {f"LIST_{i:03d}" for i in range(120)} | {"LISTX"}
    failing = _walk(db, 4, name="LIST_0", state="error")
    assert failing == [f"LIST_{i:03d}" for i in range(100) if i % 4 == 2 and i % 7]
    assert _walk(db, 3, state="paused") == [f"LIST_{i:03d}" for i in range(0, 120, 7)]
    assert _walk(db, 50, name=" ncm") == ["NCMEC"]


@pytest.mark.parametrize("bad", [{"name": "x" * 256}, {"state": "bogus"}, {"cursor": "%%%"}, {"cursor": "WzFd"}])
def test_bad_exchange_searches_are_refused(db: Session, bad: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        listing.exchanges_page(db, **bad)


def test_exchanges_page_searches_and_pages(  # type: ignore[no-untyped-def]
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, user_factory) -> None:
    with sessions() as db:
        _exchanges(db, clock, 60)
    api_login(client, user_factory(Role.ADMIN), clock)
    refused = client.get("/exchanges", params={"q": "list", "state": "auth_failed"})
    assert refused.status_code == 200 and refused.text.count('class="exchange-row"') == 13
    assert "Credentials refused" in refused.text and 'id="exchanges-next"' not in refused.text
    everyone = client.get("/exchanges")
    assert everyone.text.count('class="exchange-row"') == 50 and 'id="exchanges-next"' in everyone.text
    href = everyone.text.split('id="exchanges-next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert "after=" in href and "cursor=" not in href  # its own place, apart from the contributions' cursor
    rest = client.get(href)
    assert rest.text.count('class="exchange-row"') == 12 and 'data-name="NCMEC"' in rest.text
    bad = client.get("/exchanges", params={"state": "gone"})
    assert bad.status_code == 422 and "pick one from the list" in bad.text
