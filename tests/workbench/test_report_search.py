"""CyberTipline reports list: search by number, filter by state, keyset pages past 10,000 rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth.roles import Role
from bastion.cases.models import Case
from bastion.clock import ManualClock
from bastion.errors import InvalidInput
from bastion.ncmec import lifecycle
from bastion.ncmec.tables import NcmecReport
from tests.conftest import api_login


def _reports(db: Session, clock: ManualClock, n: int, *, state=lambda i: "draft") -> list[int]:  # type: ignore[no-untyped-def]
    """n reports over four cases, bulk-inserted; returns the case ids."""
    now = clock.now()
    db.execute(insert(Case), [{"account_id": f"acct-{i}", "status": "confirmed", "priority": 1, "opened_at": now,
                               "updated_at": now, "removal_due_at": now + timedelta(hours=24)} for i in range(4)])
    cases = list(db.scalars(select(Case.id).order_by(Case.id)))
    db.execute(insert(NcmecReport), [
        {"case_id": cases[i % 4], "account_id": f"acct-{i % 4}", "state": state(i), "document_json": "{}",
         "drafted_by": "alice", "drafted_at": now - timedelta(minutes=i), "updated_at": now,
         "ncmec_report_id": 900_000 + i if i % 10 == 0 else None} for i in range(n)])
    db.commit()
    return cases


def _walk(db: Session, size: int, **filters: str) -> list[NcmecReport]:
    seen: list[NcmecReport] = []
    cursor = None
    while True:
        page = lifecycle.report_page(db, cursor=cursor, limit=size, **filters)
        seen.extend(page.rows)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def test_reports_page_past_ten_thousand_newest_first(db: Session, clock: ManualClock) -> None:
    _reports(db, clock, 10_120, state=lambda i: "finished" if i % 3 else "error")
    seen = _walk(db, 500)
    ids = [r.id for r in seen]
    assert len(ids) == 10_120 and ids == sorted(ids, reverse=True)
    errors = _walk(db, 250, state="error")
    assert len(errors) == len(range(0, 10_120, 3)) and {r.state for r in errors} == {"error"}


def test_search_by_report_case_or_ncmec_number(db: Session, clock: ManualClock) -> None:
    cases = _reports(db, clock, 40)
    by_case = _walk(db, 7, search=f"#{cases[1]}")
    assert len(by_case) == 10 and {r.case_id for r in by_case} == {cases[1]}
    by_ncmec = lifecycle.report_page(db, search="900020").rows
    assert [r.ncmec_report_id for r in by_ncmec] == [900_020]
    own = by_case[0].id
    assert own in [r.id for r in lifecycle.report_page(db, search=str(own)).rows]


@pytest.mark.parametrize("bad", [{"search": "acct%"}, {"search": "9" * 19}, {"state": "sent"}, {"cursor": "%%%"}])
def test_unbounded_or_unknown_searches_are_refused(db: Session, bad: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        lifecycle.report_page(db, **bad)


def test_reports_page_searches_pages_and_shows_state_titles(  # type: ignore[no-untyped-def]
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, user_factory) -> None:
    with sessions() as db:
        cases = _reports(db, clock, 60, state=lambda i: "finished" if i % 2 else "draft")
    api_login(client, user_factory(Role.REVIEWER), clock)
    first = client.get("/reports")
    assert first.status_code == 200 and 'id="reports-next"' in first.text
    assert first.text.count('class="report-row"') == 50 and "Filed with NCMEC" in first.text
    assert ">finished<" not in first.text  # the title, not the enum key
    second = client.get("/reports", params={"cursor": first.text.split('id="reports-next"')[0].rsplit("cursor=", 1)[1]
                                             .split('"')[0]})
    assert second.text.count('class="report-row"') == 10 and 'id="reports-next"' not in second.text
    searched = client.get("/reports", params={"q": str(cases[2]), "state": "finished"})
    assert searched.text.count('class="report-row"') == 0  # case 2 holds only even, draft, reports
    searched = client.get("/reports", params={"q": str(cases[3]), "state": "finished"})
    assert searched.text.count('class="report-row"') == 15
    assert "<img" not in searched.text.split('id="reports"')[1]  # search never shows media
    assert client.get("/reports", params={"q": "acct-1"}).status_code == 422


def test_the_reports_api_pages_by_cursor_and_filters_by_case(  # type: ignore[no-untyped-def]
        client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, user_factory) -> None:
    """`GET /api/v1/reports` had a hidden cap of 200 rows; now it pages, following `Link: rel="next"`."""
    with sessions() as db:
        cases = _reports(db, clock, 230, state=lambda i: "finished" if i % 2 else "draft")
    api_login(client, user_factory(Role.REVIEWER), clock)
    seen: list[int] = []
    url: str | None = "/api/v1/reports?limit=100"
    while url:
        got = client.get(url)
        assert got.status_code == 200, got.text
        seen += [r["id"] for r in got.json()]
        link = got.headers.get("link")
        url = link[1:link.index(">")] if link else None
        assert (got.headers.get("x-next-cursor") is None) == (url is None)
    assert len(seen) == len(set(seen)) == 230 and seen == sorted(seen, reverse=True)
    one_case = client.get("/api/v1/reports", params={"case_id": cases[2], "state": "draft"}).json()
    assert one_case and {(r["case_id"], r["state"]) for r in one_case} == {(cases[2], "draft")}
    assert client.get("/api/v1/reports", params={"cursor": "%%%"}).status_code == 422
    assert client.get("/api/v1/reports", params={"limit": 501}).status_code == 422
