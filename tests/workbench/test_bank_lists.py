"""Banks list and the entries API: name-prefix search, kind filter (titles shown), keyset pages past 10,000 rows."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth.roles import Role
from bastion.banks import browse
from bastion.banks.models import Bank, BankEntry
from bastion.clock import ManualClock
from bastion.errors import InvalidInput
from tests.conftest import api_login


def _banks(db: Session, clock: ManualClock, n: int) -> None:
    """n banks named B_00000.. (every third an allow bank), plus two others and one deleted, bulk-inserted."""
    now = clock.now()
    rows = [{"name": f"B_{i:05d}", "kind": "allow" if i % 3 == 0 else "match", "created_at": now, "updated_at": now}
            for i in range(n)]
    rows += [{"name": "NCMEC_HASHES", "kind": "match", "created_at": now, "updated_at": now},
             {"name": "B%X", "kind": "match", "created_at": now, "updated_at": now},
             {"name": "B_GONE", "kind": "match", "created_at": now, "updated_at": now, "deleted_at": now}]
    db.execute(insert(Bank), rows)
    db.commit()


def _walk(fetch) -> list:  # type: ignore[no-untyped-def]
    seen, cursor = [], None
    while True:
        page = fetch(cursor)
        seen += page.rows
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def test_banks_page_past_ten_thousand_without_gaps(db: Session, clock: ManualClock) -> None:
    _banks(db, clock, 10_050)
    names = [b.name for b in _walk(lambda c: browse.banks_page(db, name="b_", cursor=c, limit=500))]
    assert names == [f"B_{i:05d}" for i in range(10_050)]  # "_" is literal: "B%X" and the deleted bank are out
    allow = _walk(lambda c: browse.banks_page(db, name="B_0000", kind="allow", cursor=c, limit=2))
    assert [b.name for b in allow] == ["B_00000", "B_00003", "B_00006", "B_00009"]
    assert [b.name for b in browse.banks_page(db, name=" ncmec").rows] == ["NCMEC_HASHES"]
    assert [b.name for b in browse.banks_page(db, name="B%").rows] == ["B%X"]


@pytest.mark.parametrize("bad", [{"name": "x" * 256}, {"kind": "bogus"}, {"cursor": "%%%"}, {"cursor": "WzFd"}])
def test_bad_bank_searches_are_refused(db: Session, bad: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        browse.banks_page(db, **bad)


def test_banks_page_searches_and_pages(  # type: ignore[no-untyped-def]
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, user_factory) -> None:
    with sessions() as db:
        _banks(db, clock, 130)
    api_login(client, user_factory(Role.ADMIN), clock)
    first = client.get("/banks", params={"q": "b_", "kind": "match"})
    assert first.status_code == 200 and first.text.count("data-bank=") == 86  # 86 of 130 are match banks
    table = first.text.split("<tbody>")[1].split("</tbody>")[0]
    assert "<td>Match</td>" in table and "Allow" not in table and 'id="banks-next"' not in first.text
    everyone = client.get("/banks")
    assert everyone.text.count("data-bank=") == 100 and 'id="banks-next"' in everyone.text
    href = everyone.text.split('id="banks-next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    rest = client.get(href)
    assert rest.text.count("data-bank=") == 32 and 'data-bank="NCMEC_HASHES"' in rest.text
    assert client.get("/banks", params={"cursor": "not-a-cursor"}).status_code == 422


def _entries(db: Session, clock: ManualClock, n: int) -> None:
    now = clock.now()
    db.execute(insert(Bank), [{"name": "BIG", "kind": "match", "created_at": now, "updated_at": now}])
    bank_id = db.scalar(select(Bank.id).where(Bank.name == "BIG"))
    db.execute(insert(BankEntry), [{"bank_id": bank_id, "external_id": f"e{i}", "added_at": now} for i in range(n)])
    db.commit()


def test_entries_api_cursor_walks_past_ten_thousand(  # type: ignore[no-untyped-def]
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, platform_headers) -> None:
    with sessions() as db:
        _entries(db, clock, 10_020)
    seen, params = [], {"limit": 1000}
    while True:
        response = client.get("/api/v1/banks/BIG/entries", params=params, headers=platform_headers)
        assert response.status_code == 200
        seen += [e["external_id"] for e in response.json()]
        following = response.headers.get("X-Next-Cursor")
        if following is None:
            assert "Link" not in response.headers
            break
        assert 'rel="next"' in response.headers["Link"] and f"cursor={following}" in response.headers["Link"]
        params = {"limit": 1000, "cursor": following}
    assert seen == [f"e{i}" for i in range(10_020)]
    legacy = client.get("/api/v1/banks/BIG/entries", params={"offset": 10_000, "limit": 5}, headers=platform_headers)
    assert [e["external_id"] for e in legacy.json()] == [f"e{i}" for i in range(10_000, 10_005)]
    bad = client.get("/api/v1/banks/BIG/entries", params={"cursor": "%%%"}, headers=platform_headers)
    assert bad.status_code == 422 and "cursor" in bad.text
    both = client.get("/api/v1/banks/BIG/entries", params={"cursor": legacy.headers["X-Next-Cursor"], "offset": 3},
                      headers=platform_headers)
    assert both.status_code == 422


def test_the_banks_api_pages_and_filters(  # type: ignore[no-untyped-def]
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, user_factory) -> None:
    """`GET /api/v1/banks` returned every bank with a count over every entry; now it pages."""
    with sessions() as db:
        _banks(db, clock, 130)
    api_login(client, user_factory(Role.REVIEWER), clock)
    seen: list[str] = []
    url: str | None = "/api/v1/banks?name=B_&limit=50"
    while url:
        got = client.get(url)
        assert got.status_code == 200, got.text
        seen += [b["name"] for b in got.json()]
        link = got.headers.get("link")
        url = link[1:link.index(">")] if link else None
    assert seen == [f"B_{i:05d}" for i in range(130)]
    allow = client.get("/api/v1/banks", params={"name": "B_0000", "kind": "allow"}).json()
    assert [b["name"] for b in allow] == ["B_00000", "B_00003", "B_00006", "B_00009"]
    assert client.get("/api/v1/banks", params={"kind": "bogus"}).status_code == 422
