"""Case, scan and audit search: exact filters on indexed columns, keyset pages past 10,000 rows, both databases."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import Session

from bastion import audit
from bastion.audit import reading
from bastion.auth.roles import Role
from bastion.cases import search, service
from bastion.cases.models import Case, CaseItem
from bastion.clock import ManualClock
from bastion.db import keyset
from bastion.errors import InvalidInput
from bastion.scanning import search as scan_search
from bastion.scanning.models import Scan


def _cases(db: Session, clock: ManualClock, n: int, *, status: str = "new", priority=lambda i: i % 7) -> None:  # type: ignore[no-untyped-def]
    now = clock.now()
    db.execute(insert(Case), [
        {"account_id": f"acct-{i}", "status": status, "priority": priority(i), "opened_at": now - timedelta(minutes=i),
         "updated_at": now, "removal_due_at": now + timedelta(hours=24, minutes=i % 13), "removal_policy": "test"}
        for i in range(n)])
    db.commit()


def _walk(db: Session, f: search.CaseFilter, size: int) -> list[Case]:
    seen: list[Case] = []
    cursor = None
    while True:
        page = search.search(db, f, cursor=cursor, limit=size)
        seen.extend(page.rows)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor


def test_queue_pages_past_ten_thousand_rows_in_urgency_order(db: Session, clock: ManualClock) -> None:
    _cases(db, clock, 10_250)
    _cases(db, clock, 40, status="closed")  # not in the queue
    seen = _walk(db, search.CaseFilter(), 500)
    assert len(seen) == 10_250 and len({c.id for c in seen}) == 10_250
    keys = [(-c.priority, c.removal_due_at, c.id) for c in seen]
    assert keys == sorted(keys)  # one order across every page boundary, ties broken by due time then id
    assert all(c.status == "new" for c in seen)


def test_a_filtered_search_pages_newest_first_without_repeats(db: Session, clock: ManualClock) -> None:
    _cases(db, clock, 10_050, status="closed")
    seen = _walk(db, search.CaseFilter(status="closed"), 333)
    ids = [c.id for c in seen]
    assert len(ids) == 10_050 and ids == sorted(ids, reverse=True)


def _with_item(db: Session, clock: ManualClock, account: str, *, content: str, bank: str, md5: str,
               status: str = "new") -> Case:
    scan = Scan(created_at=clock.now(), source="upload", content_id=content, account_id=account, md5=md5,
                sha1="0" * 40, sha256=md5 * 2)
    case = Case(account_id=account, status=status, priority=1, opened_at=clock.now(), updated_at=clock.now())
    db.add_all([scan, case])
    db.flush()
    db.add(CaseItem(case_id=case.id, scan_id=scan.id, content_id=content, bank_id=1, bank_name=bank, entry_id=1,
                    signal_type="md5", distance=0, added_at=clock.now()))
    db.commit()
    return case


def test_each_filter_finds_only_its_cases(db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    a = _with_item(db, clock, "alice", content="post-a", bank="NCMEC", md5="a" * 32)
    clock.advance(timedelta(days=3))
    b = _with_item(db, clock, "bob", content="post-b", bank="OWN", md5="b" * 32, status="dismissed")
    reviewer = user_factory(Role.REVIEWER)
    db.get(CaseItem, service.items_of(db, b.id)[0].id).decided_by = reviewer.id  # type: ignore[union-attr]
    db.commit()

    def ids(**kw: object) -> list[int]:
        return [c.id for c in search.search(db, search.CaseFilter(**kw)).rows]  # type: ignore[arg-type]

    assert ids(account_id="alice") == [a.id]
    assert ids(content_id="post-b") == [b.id]
    assert ids(bank="NCMEC") == [a.id]
    assert ids(hash="A" * 32) == [a.id]  # hashes are matched case-insensitively
    assert ids(hash="b" * 64) == [b.id]  # SHA-256
    assert ids(status="dismissed") == [b.id]
    assert ids(reviewer=reviewer.username) == [b.id]
    day_a = clock.now().date() - timedelta(days=3)
    assert ids(opened_from=day_a, opened_to=day_a) == [a.id]
    assert ids(opened_from=day_a + timedelta(days=1)) == [b.id]
    assert ids(account_id="alice", bank="OWN") == []


@pytest.mark.parametrize("bad", [
    {"hash": "abc"}, {"hash": "z" * 32}, {"account_id": "x" * 256}, {"status": "sideways"},
    {"opened_from": date(2026, 2, 1), "opened_to": date(2026, 1, 1)}, {"reviewer": "nobody-here"},
])
def test_unbounded_or_nonsense_searches_are_refused(db: Session, bad: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        search.search(db, search.CaseFilter(**bad))  # type: ignore[arg-type]


@pytest.mark.parametrize("cursor", ["!!!", keyset.encode(["x"]), keyset.encode([1, 2]), "A" * 500])
def test_a_forged_cursor_is_refused(db: Session, cursor: str) -> None:
    with pytest.raises(InvalidInput):
        search.search(db, search.CaseFilter(status="new"), cursor=cursor)


def test_page_size_is_bounded(db: Session) -> None:
    with pytest.raises(InvalidInput):
        search.search(db, search.CaseFilter(), limit=keyset.MAX_PAGE + 1)


def test_scans_page_past_ten_thousand_and_filter(db: Session, clock: ManualClock) -> None:
    now = clock.now()
    db.execute(insert(Scan), [
        {"created_at": now - timedelta(seconds=i), "source": "upload", "content_id": f"c-{i}",
         "account_id": f"acct-{i % 3}", "md5": f"{i:032x}", "sha1": "0" * 40, "sha256": f"{i:064x}",
         "match_count": i % 2} for i in range(10_100)])
    db.commit()
    seen, cursor = [], None
    while True:
        page = scan_search.search(db, scan_search.ScanFilter(), cursor=cursor, limit=500)
        seen.extend(s.id for s in page.rows)
        if not (cursor := page.next_cursor):
            break
    assert len(seen) == len(set(seen)) == 10_100 and seen == sorted(seen, reverse=True)
    hit = scan_search.search(db, scan_search.ScanFilter(hash=f"{77:032x}")).rows
    assert [s.content_id for s in hit] == ["c-77"]
    matched = scan_search.search(db, scan_search.ScanFilter(account_id="acct-1", matched_only=True), limit=500)
    assert matched.rows and all(s.account_id == "acct-1" and s.match_count > 0 for s in matched.rows)


def test_audit_log_pages_and_filters(db: Session, clock: ManualClock) -> None:
    for i in range(130):
        audit.record(db, actor=f"user-{i % 2}", action="test.thing", subject=f"thing:{i % 5}", clock=clock)
    db.commit()
    seen, cursor = [], None
    while True:
        page = reading.page(db, action="test.thing", cursor=cursor, limit=40)
        seen.extend(r.seq for r in page.rows)
        if not (cursor := page.next_cursor):
            break
    assert len(seen) == len(set(seen)) == 130 and seen == sorted(seen, reverse=True)
    only = reading.page(db, actor="user-1", subject="thing:3", limit=500).rows
    assert len(only) == 13 and all(r.actor == "user-1" and r.subject == "thing:3" for r in only)
