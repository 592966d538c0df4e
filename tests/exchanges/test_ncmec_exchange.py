"""NCMEC hash sharing: python-threatexchange's own client against the local stand-in over HTTP.

A full fetch (through the client's window probing and paging), an incremental fetch
applying an upstream deletion, a changed classification and a new entry, a fetch killed
mid-page resuming from the stored paging URL with no gap and no duplicate, refused
credentials, and credentials kept out of logs, the audit trail and every view.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.audit.models import AuditRecord
from bastion.banks import service as banks
from bastion.banks.models import EntrySignal
from bastion.clock import ManualClock
from bastion.dev.exchanges import NcmecHashStandin
from bastion.exchanges import service
from bastion.exchanges.fetch import LEASE, FetchReport, run_fetch
from bastion.exchanges.models import Exchange, ExchangeItem
from tests.exchanges.conftest import LOOPBACK, NCMEC_PASSWORD, NCMEC_USER, SECRET, md5_values, pdq_values


def seed(ncmec: NcmecHashStandin, clock: ManualClock, count: int = 12) -> tuple[list[str], list[str]]:
    """`count` images (PDQ and MD5) uploaded in one second an hour ago (a bulk upload, so more than a page in
    the smallest window the client narrows to), and two videos (MD5) three days before."""
    pdqs, md5s = pdq_values(count, seed=11), md5_values(count + 2, seed=12)
    start = clock.now() - timedelta(hours=1)
    for n in range(count):
        ncmec.put(f"img-{n}", {"pdq": pdqs[n], "md5": md5s[n]}, classification="A1",
                  at=start)
    for n in range(2):
        ncmec.put(f"vid-{n}", {"md5": md5s[count + n]}, classification="B1", entry_type="video",
                  at=start - timedelta(days=3, seconds=n))
    return pdqs, md5s


def add(sessions: sessionmaker[Session], clock: ManualClock, ncmec: NcmecHashStandin,
        password: str = NCMEC_PASSWORD) -> int:
    with sessions() as session:
        banks.create_bank(session, name="NCMEC_INDUSTRY", actor="test", clock=clock)
        exchange = service.add_exchange(
            session, name="NCMEC_TEST", api="ncmec",
            settings={"environment": "test_Industry", "base_url": ncmec.base_url}, bank_names=["NCMEC_INDUSTRY"],
            credentials={"user": NCMEC_USER, "password": password}, fetch_every_minutes=30, actor="admin",
            clock=clock, secret=SECRET, policy=LOOPBACK)
        session.commit()
        return exchange.id


def banked(sessions: sessionmaker[Session]) -> set[tuple[str, str]]:
    with sessions() as session:
        bank_id = banks.get_bank(session, "NCMEC_INDUSTRY").id
        return {(kind, value) for kind, value in session.execute(
            select(EntrySignal.signal_type, EntrySignal.value).where(EntrySignal.bank_id == bank_id)).all()}


def fetch(sessions: sessionmaker[Session], clock: ManualClock, exchange_id: int, **kwargs: object) -> FetchReport:
    return run_fetch(sessions, exchange_id, clock=clock, secret=SECRET, policy=LOOPBACK, **kwargs)  # type: ignore[arg-type]


def entry_queries(ncmec: NcmecHashStandin, since: int = 0) -> list[dict[str, list[str]]]:
    return [parse_qs(r["query"]) for r in ncmec.requests[since:] if r["path"].endswith("/v2/entries")]


def test_a_full_then_an_incremental_fetch_apply_additions_changes_and_deletions(
        sessions: sessionmaker[Session], clock: ManualClock, ncmec: NcmecHashStandin) -> None:
    pdqs, md5s = seed(ncmec, clock)
    exchange_id = add(sessions, clock, ncmec)

    full = fetch(sessions, clock, exchange_id)
    assert full.status == "ok", full.error
    expected = {("pdq", v) for v in pdqs} | {("md5", v) for v in md5s}
    assert banked(sessions) == expected
    assert full.added == 14 and full.deleted == 0
    assert any("start" in q for q in entry_queries(ncmec))  # the window of twelve came in pages of five
    with sessions() as session:
        item = session.scalar(select(ExchangeItem).where(ExchangeItem.upstream_id == "7-img-3"))
        assert item is not None and json.loads(item.labels_json) == {
            "classification": "A1", "entry_type": "image", "member_id": 7}
        checkpoint = json.loads(session.get(Exchange, exchange_id).checkpoint_json)  # type: ignore[union-attr]
    assert checkpoint["paging_info"] is None
    assert checkpoint["get_entries_max_ts"] == int(clock.now().timestamp()) - 5

    clock.advance(timedelta(minutes=30))
    ncmec.delete("img-0")
    ncmec.put("img-1", {"pdq": pdqs[1], "md5": md5s[1]}, classification="A2")
    new_pdq = pdq_values(1, seed=13)[0]
    ncmec.put("img-new", {"pdq": new_pdq})
    clock.advance(timedelta(minutes=1))
    before = len(ncmec.requests)
    incremental = fetch(sessions, clock, exchange_id)
    assert (incremental.status, incremental.added, incremental.updated, incremental.deleted) == ("ok", 1, 1, 1)
    assert banked(sessions) == (expected - {("pdq", pdqs[0]), ("md5", md5s[0])}) | {("pdq", new_pdq)}
    starts = [q["from"][0] for q in entry_queries(ncmec, before)]
    assert starts and min(starts) >= (clock.now() - timedelta(minutes=32)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with sessions() as session:
        relabelled = session.scalar(select(ExchangeItem).where(ExchangeItem.upstream_id == "7-img-1"))
        assert relabelled is not None and json.loads(relabelled.labels_json)["classification"] == "A2"
        removed = session.scalar(select(ExchangeItem).where(ExchangeItem.upstream_id == "7-img-0"))
        assert removed is not None and removed.removed_at is not None and removed.entry_id is None


class Killed(BaseException):
    """Stands for the process dying mid-fetch: nothing in the fetch catches it."""


def test_a_fetch_killed_mid_page_resumes_from_the_stored_paging_url_with_no_gap_and_no_duplicate(
        sessions: sessionmaker[Session], clock: ManualClock, ncmec: NcmecHashStandin) -> None:
    pdqs, md5s = seed(ncmec, clock)
    exchange_id = add(sessions, clock, ncmec)

    def die(report: FetchReport) -> None:
        with sessions() as session:
            stored = json.loads(session.get(Exchange, exchange_id).checkpoint_json)  # type: ignore[union-attr]
        if stored["paging_info"] is not None:  # killed between two pages of one window
            raise Killed

    with pytest.raises(Killed):
        fetch(sessions, clock, exchange_id, on_page=die)
    with sessions() as session:
        stored = json.loads(session.get(Exchange, exchange_id).checkpoint_json)  # type: ignore[union-attr]
    paging_url = stored["paging_info"]["paging_url"]
    part = banked(sessions)
    assert 0 < len(part) < 26

    clock.advance(LEASE + timedelta(seconds=1))
    before = len(ncmec.requests)
    resumed = fetch(sessions, clock, exchange_id)
    assert resumed.status == "ok", resumed.error
    first = ncmec.requests[before]
    assert f"{first['path']}?{first['query']}".endswith(paging_url.split("?", 1)[1])  # picked up where it stopped
    assert banked(sessions) == {("pdq", v) for v in pdqs} | {("md5", v) for v in md5s}
    assert resumed.added == 14 - sum(1 for kind, _ in part if kind == "pdq") - sum(
        1 for n in range(2) if ("md5", md5s[12 + n]) in part)  # nothing applied twice
    with sessions() as session:
        ids = session.scalars(select(ExchangeItem.upstream_id).where(ExchangeItem.exchange_id == exchange_id)).all()
    assert sorted(ids) == sorted([f"7-img-{n}" for n in range(12)] + ["7-vid-0", "7-vid-1"])


def test_refused_credentials_leave_the_exchange_auth_failed_and_keep_what_was_fetched(
        sessions: sessionmaker[Session], clock: ManualClock, ncmec: NcmecHashStandin) -> None:
    seed(ncmec, clock)
    exchange_id = add(sessions, clock, ncmec)
    assert fetch(sessions, clock, exchange_id).status == "ok"
    kept = banked(sessions)
    ncmec.password = "rotated-at-ncmec"
    clock.advance(timedelta(hours=1))
    report = fetch(sessions, clock, exchange_id)
    assert report.status == "auth_failed" and "HTTP 401" in report.error
    assert banked(sessions) == kept


def test_a_server_error_storm_is_recorded_and_the_next_fetch_resumes_from_the_checkpoint(
        sessions: sessionmaker[Session], clock: ManualClock, ncmec: NcmecHashStandin) -> None:
    pdqs, md5s = seed(ncmec, clock)
    exchange_id = add(sessions, clock, ncmec)
    ncmec.failures.count = 20  # beyond the client's own retries
    failed = fetch(sessions, clock, exchange_id)
    assert failed.status == "error" and "500" in failed.error
    with sessions() as session:
        exchange = session.get(Exchange, exchange_id)
        assert exchange is not None and exchange.status == "error" and exchange.last_succeeded is False
    ncmec.failures.count = 0
    assert fetch(sessions, clock, exchange_id).status == "ok"
    assert banked(sessions) == {("pdq", v) for v in pdqs} | {("md5", v) for v in md5s}


def test_credentials_never_reach_logs_the_audit_trail_or_views(
        sessions: sessionmaker[Session], clock: ManualClock, ncmec: NcmecHashStandin,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seed(ncmec, clock, count=3)
    exchange_id = add(sessions, clock, ncmec)
    assert fetch(sessions, clock, exchange_id).status == "ok"
    ncmec.failures.count = 20
    clock.advance(timedelta(hours=1))
    assert fetch(sessions, clock, exchange_id).status == "error"
    ncmec.failures.count = 0
    with sessions() as session:
        exchange = service.get_exchange(session, "NCMEC_TEST")
        service.set_credentials(session, exchange, {"user": NCMEC_USER, "password": "second-secret-9a8b7c"},
                                actor="admin", clock=clock, secret=SECRET)
        session.commit()
        shown = repr(service.view(session, exchange))
        audit_text = " ".join(r.details for r in session.scalars(select(AuditRecord)))
        stored = session.get(Exchange, exchange_id).credentials  # type: ignore[union-attr]
    logged = " ".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    for secret in (NCMEC_PASSWORD, "second-secret-9a8b7c"):
        assert secret not in logged and secret not in audit_text and secret not in shown and secret not in stored
    assert "exchange.credentials" in {r.action for r in _audit(sessions)}
    assert "has_credentials=True" in shown


def _audit(sessions: sessionmaker[Session]) -> list[AuditRecord]:
    with sessions() as session:
        return list(session.scalars(select(AuditRecord)))


def test_members_sharing_a_hash_share_one_entry_which_goes_only_when_no_member_holds_it(
        sessions: sessionmaker[Session], clock: ManualClock, ncmec: NcmecHashStandin) -> None:
    pdq, other = pdq_values(2, seed=31)
    md5 = md5_values(1, seed=32)[0]
    at = clock.now() - timedelta(hours=1)
    ncmec.put("a", {"pdq": pdq}, member_id=7, at=at)
    ncmec.put("b", {"pdq": pdq}, member_id=8, at=at)  # same hash, same page: one entry for both
    ncmec.put("c", {"pdq": pdq, "md5": md5}, member_id=9, at=at)  # held in part: the entry gains the md5
    ncmec.put("d", {"pdq": other}, member_id=9, at=at)
    exchange_id = add(sessions, clock, ncmec)
    first = fetch(sessions, clock, exchange_id)
    assert (first.status, first.added) == ("ok", 4)
    assert banked(sessions) == {("pdq", pdq), ("md5", md5), ("pdq", other)}
    with sessions() as session:
        holders = session.execute(select(ExchangeItem.upstream_id, ExchangeItem.entry_id)).all()
        by_id = dict(holders)
        assert by_id["7-a"] == by_id["8-b"] == by_id["9-c"] != by_id["9-d"]

    clock.advance(timedelta(minutes=10))
    ncmec.delete("a")
    ncmec.delete("b")
    clock.advance(timedelta(minutes=1))
    assert fetch(sessions, clock, exchange_id).deleted == 2
    assert banked(sessions) == {("pdq", pdq), ("md5", md5), ("pdq", other)}  # member 9 still holds it
    clock.advance(timedelta(minutes=10))
    ncmec.delete("c")
    clock.advance(timedelta(minutes=1))
    assert fetch(sessions, clock, exchange_id).deleted == 1
    assert banked(sessions) == {("pdq", other)}


def test_the_ssrf_guard_refuses_a_base_url_on_a_private_address_by_default(
        sessions: sessionmaker[Session], clock: ManualClock, ncmec: NcmecHashStandin) -> None:
    from bastion.scanning.urlfetch import FetchPolicy, ForbiddenUrl

    with sessions() as session, pytest.raises(ForbiddenUrl):
        service.add_exchange(session, name="NCMEC_INSIDE", api="ncmec",
                             settings={"environment": "test_Industry", "base_url": ncmec.base_url},
                             bank_names=["ANY"], credentials={"user": NCMEC_USER, "password": NCMEC_PASSWORD},
                             fetch_every_minutes=30, actor="admin", clock=clock, secret=SECRET, policy=FetchPolicy(),
                             create_banks=True)


def test_a_malformed_upstream_entry_is_skipped_counted_and_logged_without_its_content(
        sessions: sessionmaker[Session], clock: ManualClock, ncmec: NcmecHashStandin,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bastion.exchanges")
    good = pdq_values(1, seed=101)[0]
    bad = "q" * 64  # not hex
    at = clock.now() - timedelta(hours=1)
    ncmec.put("good", {"pdq": good}, at=at)
    ncmec.put("bad", {"pdq": bad}, at=at)
    ncmec.put("alien", {"pdna": "a" * 288}, at=at)  # no fingerprint type Bastion banks
    exchange_id = add(sessions, clock, ncmec)
    report = fetch(sessions, clock, exchange_id)
    assert (report.status, report.added, report.skipped) == ("ok", 1, 2)
    assert banked(sessions) == {("pdq", good)}
    reasons = [(r.getMessage(), getattr(r, "upstream_id", None)) for r in caplog.records
               if r.name.startswith("bastion.exchanges")]
    assert ("exchange signal skipped", "7-bad") in reasons and ("exchange item skipped", "7-alien") in reasons
    assert not any(bad in f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
