"""Authorities directory: name-prefix search in any case, country and in-use filters, keyset pages past 10,000."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.errors import InvalidInput
from bastion.legal import listing
from bastion.legal.models import Agency
from tests.conftest import api_login


def _agencies(db: Session, clock: ManualClock, n: int) -> None:
    """n agencies "Police Unit 00000".. in two countries (every fifth retired), mixed case, and some others."""
    now = clock.now()
    rows = [{"name": f"{'POLICE' if i % 2 else 'police'} Unit {i:05d}", "country": "IN" if i % 2 else "GB",
             "active": i % 5 != 0, "updated_at": now, "updated_by": "test"} for i in range(n)]
    rows += [{"name": "Cyber Crime Cell", "country": "IN", "updated_at": now, "updated_by": "test"},
             {"name": "Cyber Crime Cell", "country": "GB", "updated_at": now, "updated_by": "test"},
             {"name": "100% Safe_Unit", "country": "US", "updated_at": now, "updated_by": "test"}]
    db.execute(insert(Agency), rows)
    db.commit()


def _walk(db: Session, limit: int, **filters: str) -> list[Agency]:
    seen, cursor = [], None
    while True:
        page = listing.agencies_page(db, cursor=cursor, limit=limit, **filters)
        seen += page.rows
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def test_agencies_page_past_ten_thousand_in_any_case(db: Session, clock: ManualClock) -> None:
    _agencies(db, clock, 10_040)
    found = _walk(db, 500, name="Police unit")
    assert [a.name.lower() for a in found] == [f"police unit {i:05d}" for i in range(10_040)]
    assert len({a.id for a in found}) == 10_040
    retired_in = _walk(db, 3, name="police unit 0000", country=" in ", state="inactive")
    assert [a.name for a in retired_in] == ["POLICE Unit 00005"]  # 0-9 only; odd and a multiple of five
    same_name = _walk(db, 1, name="cyber")
    assert [a.country for a in same_name] == ["IN", "GB"]  # one name twice: the id breaks the tie, a page each
    assert [a.name for a in listing.agencies_page(db, name="100%").rows] == ["100% Safe_Unit"]
    assert listing.agencies_page(db, name="100_").rows == []  # "_" is a literal, not a wildcard


@pytest.mark.parametrize("bad", [{"name": "x" * 301}, {"country": "x" * 9}, {"state": "bogus"}, {"cursor": "%%%"},
                                 {"cursor": "WzFd"}, {"cursor": "WyJhIiwiYiJd"}])
def test_bad_agency_searches_are_refused(db: Session, bad: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        listing.agencies_page(db, **bad)


def test_agencies_page_searches_and_pages(  # type: ignore[no-untyped-def]
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, user_factory) -> None:
    with sessions() as db:
        _agencies(db, clock, 60)
    api_login(client, user_factory(Role.LEGAL), clock)
    first = client.get("/legal/agencies", params={"q": "police", "state": "active"})
    assert first.status_code == 200 and first.text.count("data-agency=") == 48 and "Retired</td>" not in first.text
    assert "In use</td>" in first.text and 'id="agencies-next"' not in first.text
    everyone = client.get("/legal/agencies")
    assert everyone.text.count("data-agency=") == 50 and 'id="agencies-next"' in everyone.text
    href = everyone.text.split('id="agencies-next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    rest = client.get(href)
    assert rest.text.count("data-agency=") == 13 and 'data-agency="POLICE Unit 00059"' in rest.text
    bad = client.get("/legal/agencies", params={"state": "gone"})
    assert bad.status_code == 422 and "pick one from the list" in bad.text


def test_the_agencies_api_pages_and_filters(  # type: ignore[no-untyped-def]
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, user_factory) -> None:
    """`GET /api/v1/legal/agencies` returned the whole directory at once; now it pages like the page does."""
    with sessions() as db:
        _agencies(db, clock, 120)
    api_login(client, user_factory(Role.LEGAL), clock)
    seen: list[str] = []
    url: str | None = "/api/v1/legal/agencies?name=police&limit=50"
    while url:
        got = client.get(url)
        assert got.status_code == 200, got.text
        seen += [a["name"] for a in got.json()]
        link = got.headers.get("link")
        url = link[1:link.index(">")] if link else None
    assert len(seen) == len(set(seen)) == 120 and seen == sorted(seen, key=str.lower)
    gb_retired = client.get("/api/v1/legal/agencies", params={"country": "gb", "state": "inactive"}).json()
    assert gb_retired and {(a["country"], a["active"]) for a in gb_retired} == {("GB", False)}
    assert client.get("/api/v1/legal/agencies", params={"cursor": "%%%"}).status_code == 422
