"""A hash list at a URL, fetched over real HTTP through the SSRF guard into a bank.

Covers basic and bearer auth, conditional requests (ETag, If-Modified-Since), upstream
removals and label changes applied to the bank, a fetch killed part-way resuming at the
next line, bad credentials stopping retries, and the guard refusing a private address.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.banks import service as banks
from bastion.banks.models import BankEntry, EntrySignal
from bastion.clock import ManualClock
from bastion.dev.exchanges import UrlListStandin
from bastion.errors import InvalidInput
from bastion.executor import TaskContext
from bastion.exchanges import service, tasks, urllist
from bastion.exchanges.fetch import LEASE, FetchReport, run_fetch
from bastion.exchanges.models import Exchange, ExchangeItem
from bastion.scanning.urlfetch import FetchPolicy, ForbiddenUrl
from bastion.timers import Ticker
from bastion.timers.models import Timer
from tests.exchanges.conftest import LOOPBACK, SECRET, pdq_values

PASSWORD = "list-password-7c1e9d"
TOKEN = "list-bearer-token-55aa01"


def csv_list(rows: list[tuple[str, str]]) -> str:
    return "signal_type,value,classification\n" + "".join(f"pdq,{value},{label}\n" for value, label in rows)


def add(sessions: sessionmaker[Session], clock: ManualClock, url: str, *, fmt: str = "csv", auth: str = "basic",
        credentials: dict[str, str] | None = None, name: str = "HOTLINE_LIST", bank: str = "SHARED_LIST") -> int:
    with sessions() as session:
        exchange = service.add_exchange(
            session, name=name, api="url_list", settings={"url": url, "format": fmt, "auth": auth},
            bank_names=[bank], credentials=credentials if credentials is not None else {"user": "ops", "password": PASSWORD},
            fetch_every_minutes=60, actor="admin", clock=clock, secret=SECRET, policy=LOOPBACK)
        session.commit()
        return exchange.id


def bank_values(sessions: sessionmaker[Session], bank: str = "SHARED_LIST") -> dict[str, str]:
    """pdq value -> classification of every entry in the bank."""
    with sessions() as session:
        bank_id = banks.get_bank(session, bank).id
        rows = session.execute(select(EntrySignal.value, BankEntry.classification)
                               .join(BankEntry, BankEntry.id == EntrySignal.entry_id)
                               .where(EntrySignal.bank_id == bank_id, EntrySignal.signal_type == "pdq")).all()
        return {value: label for value, label in rows}


def fetch(sessions: sessionmaker[Session], clock: ManualClock, exchange_id: int, **kwargs: object) -> FetchReport:
    return run_fetch(sessions, exchange_id, clock=clock, secret=SECRET, policy=LOOPBACK, **kwargs)  # type: ignore[arg-type]


def test_a_basic_auth_csv_list_is_fetched_then_answered_304_then_changes_apply(
        sessions: sessionmaker[Session], clock: ManualClock, url_lists: UrlListStandin, bank: str) -> None:
    values = pdq_values(4)
    url = url_lists.publish("hotline", csv_list([(v, "A1") for v in values[:3]]), auth="basic", user="ops",
                           secret=PASSWORD)
    exchange_id = add(sessions, clock, url)

    first = fetch(sessions, clock, exchange_id)
    assert (first.status, first.added, first.deleted) == ("ok", 3, 0)
    assert bank_values(sessions) == {v: "A1" for v in values[:3]}
    with sessions() as session:
        items = session.scalars(select(ExchangeItem).where(ExchangeItem.exchange_id == exchange_id)).all()
        assert sorted(i.upstream_id for i in items) == sorted(f"pdq:{v}" for v in values[:3])
        assert all(json.loads(i.labels_json) == {"classification": "A1"} and i.first_seen == clock.now() for i in items)
        entry = session.get(BankEntry, items[0].entry_id)
        assert entry is not None and entry.source == "exchange:HOTLINE_LIST"

    clock.advance(timedelta(hours=1))
    unchanged = fetch(sessions, clock, exchange_id)
    assert (unchanged.status, unchanged.pages, unchanged.added) == ("ok", 0, 0)
    assert url_lists.requests[-1]["if_none_match"] == url_lists.lists["hotline"].etag  # a conditional request...
    assert url_lists.requests[-1]["auth"] == "Basic"

    clock.advance(timedelta(hours=1))  # ... until the list changes: one removed, one relabelled, one new
    url_lists.publish("hotline", csv_list([(values[0], "A1"), (values[1], "B2"), (values[3], "A1")]), auth="basic",
                      user="ops", secret=PASSWORD)
    changed = fetch(sessions, clock, exchange_id)
    assert (changed.status, changed.added, changed.updated, changed.deleted) == ("ok", 1, 1, 1)
    assert bank_values(sessions) == {values[0]: "A1", values[1]: "B2", values[3]: "A1"}
    with sessions() as session:
        gone = session.scalar(select(ExchangeItem).where(ExchangeItem.upstream_id == f"pdq:{values[2]}"))
        assert gone is not None and gone.removed_at == clock.now() and gone.entry_id is None  # kept for the record
        kept = session.scalar(select(ExchangeItem).where(ExchangeItem.upstream_id == f"pdq:{values[0]}"))
        assert kept is not None and kept.last_seen == clock.now() and kept.first_seen < kept.last_seen


def test_a_bank_entry_that_was_there_before_the_exchange_is_never_removed_by_it(
        sessions: sessionmaker[Session], clock: ManualClock, url_lists: UrlListStandin, bank: str) -> None:
    value = pdq_values(1, seed=9)[0]
    with sessions() as session:
        banks.add_entry(session, banks.get_bank(session, bank), {"pdq": value}, actor="reviewer", clock=clock)
        session.commit()
    url = url_lists.publish("list", f"pdq {value}\n")
    exchange_id = add(sessions, clock, url, fmt="te", auth="none", credentials={})
    assert fetch(sessions, clock, exchange_id).status == "ok"
    url_lists.publish("list", "")
    clock.advance(timedelta(minutes=1))
    report = fetch(sessions, clock, exchange_id)
    assert (report.status, report.deleted) == ("ok", 1)
    assert bank_values(sessions) == {value: ""}  # the reviewer's entry stays


class Killed(BaseException):
    """Stands for the process dying: it is not an Exception, so nothing in the fetch catches it."""


def test_a_fetch_killed_after_a_page_resumes_at_the_next_line_with_no_gap_and_no_duplicate(
        sessions: sessionmaker[Session], clock: ManualClock, url_lists: UrlListStandin, bank: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(urllist, "PAGE_ROWS", 2)
    values = pdq_values(7, seed=3)
    url = url_lists.publish("big", "".join(f"pdq {v}\n" for v in values), auth="bearer", secret=TOKEN)
    exchange_id = add(sessions, clock, url, fmt="te", auth="bearer", credentials={"token": TOKEN})

    def die(report: FetchReport) -> None:
        if report.pages == 2:
            raise Killed

    with pytest.raises(Killed):
        fetch(sessions, clock, exchange_id, on_page=die)
    assert set(bank_values(sessions)) == set(values[:4])  # two pages committed, with their checkpoint
    with sessions() as session:
        exchange = session.get(Exchange, exchange_id)
        assert exchange is not None and exchange.status == "running"
        assert json.loads(exchange.checkpoint_json)["next_line"] == 4

    assert fetch(sessions, clock, exchange_id).status == "busy"  # the dead worker's claim holds until its lease ends
    clock.advance(LEASE + timedelta(seconds=1))
    resumed = fetch(sessions, clock, exchange_id)
    assert (resumed.status, resumed.pages, resumed.added) == ("ok", 2, 3)  # lines 5-7 only: no line read twice
    assert url_lists.requests[-1]["if_none_match"] == ""  # an unfinished fetch downloads again, unconditionally
    assert set(bank_values(sessions)) == set(values)
    with sessions() as session:
        items = session.scalars(select(ExchangeItem).where(ExchangeItem.exchange_id == exchange_id)).all()
        assert len(items) == 7 and len({i.upstream_id for i in items}) == 7
        assert session.scalar(select(EntrySignal.id).where(EntrySignal.value == values[0])) is not None


def test_a_list_that_changed_while_a_fetch_was_stopped_starts_a_new_generation_and_removes_what_went(
        sessions: sessionmaker[Session], clock: ManualClock, url_lists: UrlListStandin, bank: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(urllist, "PAGE_ROWS", 2)
    values = pdq_values(5, seed=4)
    url = url_lists.publish("moving", "".join(f"pdq {v}\n" for v in values[:4]))
    exchange_id = add(sessions, clock, url, fmt="te", auth="none", credentials={})
    assert fetch(sessions, clock, exchange_id).status == "ok"

    url_lists.publish("moving", "".join(f"pdq {v}\n" for v in values[:4] + [values[4]]))
    clock.advance(timedelta(hours=1))
    with pytest.raises(Killed):
        fetch(sessions, clock, exchange_id, on_page=lambda report: (_ for _ in ()).throw(Killed()))
    url_lists.publish("moving", "".join(f"pdq {v}\n" for v in values[2:]))  # changed again while stopped
    clock.advance(LEASE + timedelta(seconds=1))
    report = fetch(sessions, clock, exchange_id)
    assert report.status == "ok"
    assert set(bank_values(sessions)) == set(values[2:])


def test_wrong_credentials_stop_the_exchange_until_they_are_edited_and_nothing_fetched_is_lost(
        sessions: sessionmaker[Session], clock: ManualClock, url_lists: UrlListStandin, bank: str) -> None:
    values = pdq_values(2, seed=5)
    url = url_lists.publish("guarded", "".join(f"pdq {v}\n" for v in values), auth="bearer", secret=TOKEN)
    exchange_id = add(sessions, clock, url, fmt="te", auth="bearer", credentials={"token": TOKEN})
    ctx = TaskContext(sessions=sessions, clock=clock, services={})
    tasks.wire(ctx.services, SECRET, LOOPBACK)
    Ticker(ctx).tick()  # the first fetch is due at once, from its timer row (which it moves to the next run)
    assert set(bank_values(sessions)) == set(values)

    url_lists.publish("guarded", "".join(f"pdq {v}\n" for v in values), auth="bearer", secret="rotated-token-99")
    clock.advance(timedelta(minutes=61))
    Ticker(ctx).tick()
    with sessions() as session:
        exchange = session.get(Exchange, exchange_id)
        assert exchange is not None and exchange.status == "auth_failed"
        assert "HTTP 401" in exchange.last_error
        assert not session.scalars(select(Timer).where(Timer.subject == f"exchange:{exchange_id}",
                                                       Timer.status == "pending")).all()  # no retry
    assert set(bank_values(sessions)) == set(values)

    with sessions() as session:
        service.set_credentials(session, service.get_exchange(session, "HOTLINE_LIST"), {"token": "rotated-token-99"},
                                actor="admin", clock=clock, secret=SECRET)
        session.commit()
    Ticker(ctx).tick()
    with sessions() as session:
        exchange = session.get(Exchange, exchange_id)
        assert exchange is not None and exchange.status == "ok"
        assert session.scalars(select(Timer.due_at).where(Timer.subject == f"exchange:{exchange_id}",
                                                          Timer.status == "pending")).all() == \
            [clock.now() + timedelta(minutes=60)]


def test_the_ssrf_guard_refuses_a_list_on_a_private_address_by_default(
        sessions: sessionmaker[Session], clock: ManualClock, url_lists: UrlListStandin, bank: str) -> None:
    url = url_lists.publish("inside", "")
    with sessions() as session, pytest.raises(ForbiddenUrl):
        service.add_exchange(session, name="INSIDE", api="url_list", settings={"url": url, "format": "te"},
                             bank_names=[bank], credentials={}, fetch_every_minutes=60, actor="admin", clock=clock,
                             secret=SECRET, policy=FetchPolicy())
    with sessions() as session, pytest.raises(InvalidInput, match="not in the URL"):
        service.add_exchange(session, name="INSIDE", api="url_list",
                             settings={"url": url.replace("http://", f"http://ops:{PASSWORD}@"), "format": "te"},
                             bank_names=[bank], credentials={}, fetch_every_minutes=60, actor="admin", clock=clock,
                             secret=SECRET, policy=LOOPBACK)


def test_malformed_lines_are_skipped_and_counted_and_the_rest_is_banked(
        sessions: sessionmaker[Session], clock: ManualClock, url_lists: UrlListStandin, bank: str) -> None:
    values = pdq_values(2, seed=6)
    url = url_lists.publish("messy", f"pdq {values[0]}\npdq not-hex\nfoo {values[1]}\npdq {values[1]}\n")
    exchange_id = add(sessions, clock, url, fmt="te", auth="none", credentials={})
    report = fetch(sessions, clock, exchange_id)
    assert (report.status, report.added, report.skipped) == ("ok", 2, 2)
    assert set(bank_values(sessions)) == set(values)


@pytest.mark.parametrize("change", ["delete", "pause"])
def test_an_exchange_deleted_or_paused_while_fetching_stops_after_the_page_in_hand(
        sessions: sessionmaker[Session], clock: ManualClock, url_lists: UrlListStandin, bank: str,
        monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    monkeypatch.setattr(urllist, "PAGE_ROWS", 2)
    values = pdq_values(6, seed=8)
    url = url_lists.publish("stopping", "".join(f"pdq {v}\n" for v in values))
    exchange_id = add(sessions, clock, url, fmt="te", auth="none", credentials={})

    def meddle(report: FetchReport) -> None:
        with sessions() as session:
            exchange = service.get_exchange(session, "HOTLINE_LIST")
            if change == "delete":
                service.delete_exchange(session, exchange, actor="admin", clock=clock)
            else:
                service.set_paused(session, exchange, True, actor="admin", clock=clock)
            session.commit()

    report = fetch(sessions, clock, exchange_id, on_page=meddle)
    assert (report.status, report.pages) == ("deleted" if change == "delete" else "paused", 1)
    assert set(bank_values(sessions)) == set(values[:2])  # the first page stays; nothing after it was applied
    with sessions() as session:
        exchange = session.get(Exchange, exchange_id)
        assert (exchange is None) == (change == "delete")
        assert exchange is None or (exchange.paused and json.loads(exchange.checkpoint_json)["next_line"] == 2)
    if change == "pause":
        with sessions() as session:
            service.set_paused(session, service.get_exchange(session, "HOTLINE_LIST"), False, actor="admin",
                               clock=clock)
            session.commit()
        resumed = fetch(sessions, clock, exchange_id)
        assert (resumed.status, resumed.pages, resumed.added) == ("ok", 3, 4)  # lines 3-6 and the end: not 1-2 again
        assert set(bank_values(sessions)) == set(values)


def test_a_loaded_matcher_sees_fetched_hashes_and_upstream_removals_without_a_rebuild(
        sessions: sessionmaker[Session], clock: ManualClock, url_lists: UrlListStandin, bank: str) -> None:
    from bastion.matching.banked import BankMatcher

    values = pdq_values(3, seed=41)
    matcher = BankMatcher(sessions, clock, refresh_seconds=0)
    matcher.load()
    url = url_lists.publish("live", "".join(f"pdq {v}\n" for v in values))
    exchange_id = add(sessions, clock, url, fmt="te", auth="none", credentials={})
    assert fetch(sessions, clock, exchange_id).added == 3
    with sessions() as session:
        hit = matcher.match(session, {"pdq": values[1]})
        assert [m.bank_name for m in hit.matches] == [bank]
    url_lists.publish("live", f"pdq {values[0]}\n")
    clock.advance(timedelta(hours=1))
    assert fetch(sessions, clock, exchange_id).deleted == 2
    with sessions() as session:
        assert matcher.match(session, {"pdq": values[1]}).matches == []
        assert len(matcher.match(session, {"pdq": values[0]}).matches) == 1


def test_a_list_served_with_last_modified_only_is_asked_if_modified_since(
        sessions: sessionmaker[Session], clock: ManualClock, url_lists: UrlListStandin, bank: str) -> None:
    values = pdq_values(2, seed=61)
    url = url_lists.publish("dated", f"pdq {values[0]}\n", etag=False)
    exchange_id = add(sessions, clock, url, fmt="te", auth="none", credentials={})
    assert fetch(sessions, clock, exchange_id).added == 1
    clock.advance(timedelta(hours=1))
    assert fetch(sessions, clock, exchange_id).pages == 0  # 304
    assert url_lists.requests[-1]["if_modified_since"] == "Thu, 01 Jan 2026 09:00:00 GMT"
    assert url_lists.requests[-1]["if_none_match"] == ""
    url_lists.publish("dated", "".join(f"pdq {v}\n" for v in values), etag=False)  # modified an hour later
    clock.advance(timedelta(hours=1))
    report = fetch(sessions, clock, exchange_id)
    assert (report.status, report.added) == ("ok", 1)
    assert set(bank_values(sessions)) == set(values)


def test_every_page_that_changed_a_bank_is_audited_with_its_counts_and_the_run_as_a_whole(
        sessions: sessionmaker[Session], clock: ManualClock, url_lists: UrlListStandin, bank: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bastion.audit import verify
    from bastion.audit.models import AuditRecord

    monkeypatch.setattr(urllist, "PAGE_ROWS", 2)
    url = url_lists.publish("audited", "".join(f"pdq {v}\n" for v in pdq_values(3, seed=81)))
    exchange_id = add(sessions, clock, url, fmt="te", auth="none", credentials={})
    assert fetch(sessions, clock, exchange_id).pages == 2
    with sessions() as session:
        rows = session.scalars(select(AuditRecord).where(AuditRecord.subject == f"exchange:{exchange_id}")
                               .order_by(AuditRecord.seq)).all()
        assert [r.action for r in rows] == ["exchange.create", "exchange.fetch_page", "exchange.fetch_page",
                                            "exchange.fetch"]
        assert [json.loads(r.details)["added"] for r in rows[1:]] == [2, 1, 3]
        assert verify(session).ok


def test_with_an_executor_the_timer_hands_the_fetch_over_and_keeps_the_next_run_due(
        sessions: sessionmaker[Session], clock: ManualClock, url_lists: UrlListStandin, bank: str) -> None:
    """The ticker is not held up by a long fetch, and a worker dying mid-fetch still leaves a next run."""
    from bastion.executor import InlineExecutor

    values = pdq_values(2, seed=91)
    url = url_lists.publish("handed", "".join(f"pdq {v}\n" for v in values), auth="bearer", secret=TOKEN)
    exchange_id = add(sessions, clock, url, fmt="te", auth="bearer", credentials={"token": TOKEN})
    ctx = TaskContext(sessions=sessions, clock=clock, services={})
    tasks.wire(ctx.services, SECRET, LOOPBACK)
    handed: list[dict[str, object]] = []

    class Recording(InlineExecutor):
        def submit(self, name, payload):  # type: ignore[no-untyped-def]
            handed.append({"name": name, **payload})
            due = _pending(sessions, exchange_id)
            assert due == [clock.now() + timedelta(minutes=60)]  # the safety net is in place before the fetch
            return super().submit(name, payload)

    ctx.services["executor"] = Recording(ctx)
    Ticker(ctx).tick()
    assert handed == [{"name": "exchanges.run", "exchange_id": exchange_id}]
    assert set(bank_values(sessions)) == set(values)
    assert _pending(sessions, exchange_id) == [clock.now() + timedelta(minutes=60)]

    url_lists.publish("handed", "", auth="bearer", secret="another-token-00")
    clock.advance(timedelta(minutes=61))
    Ticker(ctx).tick()
    assert _pending(sessions, exchange_id) == []  # refused credentials: the safety net is withdrawn too


def _pending(sessions: sessionmaker[Session], exchange_id: int) -> list[object]:
    with sessions() as session:
        return list(session.scalars(select(Timer.due_at).where(Timer.subject == f"exchange:{exchange_id}",
                                                               Timer.status == "pending")))


def test_an_entry_a_person_deleted_is_not_added_back_by_the_next_fetch(
        sessions: sessionmaker[Session], clock: ManualClock, url_lists: UrlListStandin, bank: str) -> None:
    values = pdq_values(3, seed=111)
    url = url_lists.publish("respected", "".join(f"pdq {v}\n" for v in values[:2]))
    exchange_id = add(sessions, clock, url, fmt="te", auth="none", credentials={})
    assert fetch(sessions, clock, exchange_id).added == 2
    with sessions() as session:
        entry_id = session.scalar(select(EntrySignal.entry_id).where(EntrySignal.value == values[0]))
        banks.delete_entry(session, banks.get_entry(session, entry_id), actor="reviewer", clock=clock)
        session.commit()
    url_lists.publish("respected", "".join(f"pdq {v}\n" for v in values))  # the list changes: all re-read
    clock.advance(timedelta(hours=1))
    report = fetch(sessions, clock, exchange_id)
    assert (report.status, report.added, report.deleted) == ("ok", 1, 0)
    assert set(bank_values(sessions)) == set(values[1:])
