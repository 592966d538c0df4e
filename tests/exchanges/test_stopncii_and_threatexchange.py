"""StopNCII and ThreatExchange: python-threatexchange's own clients against the local stand-ins over HTTP.

Each test runs against both exchanges: a full fetch, an incremental fetch (additions, a
withdrawn or deleted hash, a changed opinion), a fetch killed between pages resuming from the
stored checkpoint with no gap and no duplicate, a record changed between two pages of one fetch,
refused credentials (`auth_failed`, no retry until edited, nothing lost), and a slow page.
Every hash is random hex made here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, quote

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bastion.banks import service as banks
from bastion.banks.models import EntrySignal
from bastion.clock import ManualClock
from bastion.exchanges import service, tasks
from bastion.exchanges.fetch import FetchReport, run_fetch
from bastion.exchanges.models import Exchange, ExchangeItem
from bastion.executor import TaskContext
from bastion.timers import Ticker
from bastion.timers.models import Timer
from tests.exchanges.conftest import LOOPBACK, SECRET, STOPNCII_KEYS, TE_GROUP, TE_TOKEN, pdq_values


class Killed(BaseException):
    """Stands for the process dying mid-fetch: nothing in the fetch catches it."""


@dataclass
class Feed:
    """One exchange's stand-in, driven the same way in every test."""

    api: str
    server: Any
    settings: dict[str, Any]
    credentials: dict[str, str]

    def put(self, value: str, **kwargs: Any) -> None:
        self.server.put(value, **kwargs)

    def remove(self, value: str) -> None:
        if self.api == "stop_ncii":
            self.server.withdraw(value)
        else:
            self.server.delete(value)

    def start_of(self, query: str) -> int:
        args = parse_qs(query)
        return int((args.get("startTimestamp") or args.get("start_time") or ["0"])[0])

    def fetches(self, since: int = 0) -> list[str]:
        return [r["query"] for r in self.server.requests[since:]
                if r["path"].endswith(("FetchHashes", "threat_updates/"))]


@pytest.fixture(params=["stop_ncii", "fb_threatexchange"])
def feed(request: pytest.FixtureRequest) -> Feed:
    if request.param == "stop_ncii":
        server = request.getfixturevalue("stop_ncii")
        return Feed("stop_ncii", server, {"base_url": server.base_url}, dict(STOPNCII_KEYS))
    server = request.getfixturevalue("threatexchange")
    return Feed("fb_threatexchange", server, {"privacy_group": TE_GROUP, "base_url": server.base_url},
                {"token": TE_TOKEN})


def add(sessions: sessionmaker[Session], clock: ManualClock, feed: Feed) -> int:
    with sessions() as session:
        banks.create_bank(session, name="SHARED", actor="test", clock=clock)
        exchange = service.add_exchange(
            session, name="FEED", api=feed.api, settings=feed.settings, bank_names=["SHARED"],
            credentials=feed.credentials, fetch_every_minutes=30, actor="admin", clock=clock, secret=SECRET,
            policy=LOOPBACK)
        session.commit()
        return exchange.id


def banked(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        bank_id = banks.get_bank(session, "SHARED").id
        return sorted(session.scalars(select(EntrySignal.value).where(EntrySignal.bank_id == bank_id)))


def fetch(sessions: sessionmaker[Session], clock: ManualClock, exchange_id: int, **kwargs: Any) -> FetchReport:
    return run_fetch(sessions, exchange_id, clock=clock, secret=SECRET, policy=LOOPBACK, **kwargs)


def seed(feed: Feed, clock: ManualClock, count: int, seed_value: int) -> list[str]:
    """`count` hashes changed one second apart, an hour ago (more than one page of 100 for ThreatExchange)."""
    values = pdq_values(count, seed=seed_value)
    start = clock.now() - timedelta(hours=1)
    for n, value in enumerate(values):
        feed.put(value, at=start + timedelta(seconds=n))
    return values


def test_a_full_fetch_then_an_incremental_one_apply_additions_and_removals(
        sessions: sessionmaker[Session], clock: ManualClock, feed: Feed) -> None:
    values = seed(feed, clock, 230, seed_value=41)
    exchange_id = add(sessions, clock, feed)
    full = fetch(sessions, clock, exchange_id)
    assert (full.status, full.added, full.deleted) == ("ok", 230, 0), full.error
    assert banked(sessions) == sorted(values)
    assert full.pages >= 1 and (feed.api == "stop_ncii" or full.pages == 3)  # ThreatExchange: 100 a page

    with sessions() as session:
        stored = json.loads(session.get(Exchange, exchange_id).checkpoint_json)  # type: ignore[union-attr]
    assert stored["update_time"] == int((clock.now() - timedelta(hours=1) + timedelta(seconds=229)).timestamp())

    clock.advance(timedelta(minutes=30))
    feed.remove(values[0])
    feed.remove(values[1])
    new = pdq_values(2, seed=42)
    for value in new:
        feed.put(value)
    before = len(feed.server.requests)
    incremental = fetch(sessions, clock, exchange_id)
    assert (incremental.status, incremental.added, incremental.deleted) == ("ok", 2, 2), incremental.error
    assert banked(sessions) == sorted(values[2:] + new)
    first = feed.fetches(before)[0]
    assert feed.start_of(first) == stored["update_time"]  # from the checkpoint, not from the beginning
    with sessions() as session:
        gone = session.scalar(select(ExchangeItem).where(ExchangeItem.upstream_id.endswith(values[0])))
        assert gone is not None and gone.removed_at is not None and gone.entry_id is None


def test_a_fetch_killed_between_pages_resumes_from_its_checkpoint_with_no_gap_and_no_duplicate(
        sessions: sessionmaker[Session], clock: ManualClock, feed: Feed) -> None:
    if feed.api == "stop_ncii":
        feed.server.page_size_cap = 50
    values = seed(feed, clock, 120 if feed.api == "stop_ncii" else 250, seed_value=43)
    exchange_id = add(sessions, clock, feed)

    def die(report: FetchReport) -> None:
        raise Killed

    with pytest.raises(Killed):
        fetch(sessions, clock, exchange_id, on_page=die)
    part = banked(sessions)
    assert 0 < len(part) < len(values)
    with sessions() as session:
        exchange = session.get(Exchange, exchange_id)
        assert exchange is not None
        stored = json.loads(exchange.checkpoint_json)
        exchange.status = "idle"  # the dead process's claim (the lease test lives with the NCMEC tests)
        session.commit()
    before = len(feed.server.requests)
    resumed = fetch(sessions, clock, exchange_id)
    assert resumed.status == "ok", resumed.error
    assert feed.start_of(feed.fetches(before)[0]) == stored["update_time"]  # picked up where it stopped
    assert banked(sessions) == sorted(values)  # no gap, and no value twice
    assert resumed.added == len(values) - len(part)
    with sessions() as session:
        rows = session.scalar(select(func.count()).select_from(ExchangeItem)) or 0
    assert rows == len(values)


def test_a_record_changed_between_two_pages_of_one_fetch_is_applied_in_its_latest_state(
        sessions: sessionmaker[Session], clock: ManualClock, feed: Feed) -> None:
    if feed.api == "stop_ncii":
        feed.server.page_size_cap = 50
    values = seed(feed, clock, 120 if feed.api == "stop_ncii" else 250, seed_value=44)
    exchange_id = add(sessions, clock, feed)
    calls: list[str] = []

    def change_after_first_page(path: str, query: str) -> None:
        if path.endswith(("FetchHashes", "threat_updates/")):
            calls.append(query)
            if len(calls) == 2:
                feed.remove(values[0])  # already served on the first page

    feed.server.on_request = change_after_first_page
    report = fetch(sessions, clock, exchange_id)
    feed.server.on_request = None
    assert report.status == "ok", report.error
    assert banked(sessions) == sorted(values[1:])


def test_refused_credentials_stop_the_exchange_until_edited_and_keep_what_was_fetched(
        sessions: sessionmaker[Session], clock: ManualClock, feed: Feed) -> None:
    values = seed(feed, clock, 5, seed_value=45)
    exchange_id = add(sessions, clock, feed)
    ctx = TaskContext(sessions=sessions, clock=clock, services={})
    tasks.wire(ctx.services, SECRET, LOOPBACK)
    Ticker(ctx).tick()
    assert banked(sessions) == sorted(values)

    feed.server.expired = True
    clock.advance(timedelta(minutes=31))
    Ticker(ctx).tick()
    with sessions() as session:
        exchange = session.get(Exchange, exchange_id)
        assert exchange is not None and exchange.status == "auth_failed", exchange.last_error
        assert "refused the credentials" in exchange.last_error
        for secret in feed.credentials.values():
            assert secret not in exchange.last_error and secret.replace("|", "%7C") not in exchange.last_error
        assert not session.scalars(select(Timer).where(Timer.subject == f"exchange:{exchange_id}",
                                                       Timer.status == "pending")).all()  # no retry
    asked = len(feed.server.requests)
    clock.advance(timedelta(hours=3))
    Ticker(ctx).tick()
    assert len(feed.server.requests) == asked  # nothing tried while the credentials stand
    assert banked(sessions) == sorted(values)

    feed.server.expired = False
    with sessions() as session:
        service.set_credentials(session, service.get_exchange(session, "FEED"), feed.credentials, actor="admin",
                                clock=clock, secret=SECRET)
        session.commit()
    Ticker(ctx).tick()
    with sessions() as session:
        exchange = session.get(Exchange, exchange_id)
        assert exchange is not None and exchange.status == "ok"


def test_a_server_error_storm_then_a_slow_page_end_in_a_complete_fetch(
        sessions: sessionmaker[Session], clock: ManualClock, feed: Feed) -> None:
    values = seed(feed, clock, 120, seed_value=46)
    exchange_id = add(sessions, clock, feed)
    feed.server.failures.count = 20  # beyond the clients' own retries
    failed = fetch(sessions, clock, exchange_id)
    assert failed.status == "error" and failed.error
    for secret in feed.credentials.values():  # the Graph API carries its token in the URL an error names
        assert secret not in failed.error and quote(secret, safe="") not in failed.error
    feed.server.failures.count = 0
    feed.server.delay = 0.3
    report = fetch(sessions, clock, exchange_id)
    feed.server.delay = 0.0
    assert report.status == "ok", report.error
    assert banked(sessions) == sorted(values)


def test_threatexchange_opinions_become_labels_and_an_all_negative_indicator_leaves_the_bank(
        sessions: sessionmaker[Session], clock: ManualClock, threatexchange: Any) -> None:
    feed = Feed("fb_threatexchange", threatexchange, {"privacy_group": TE_GROUP, "base_url": threatexchange.base_url},
                {"token": TE_TOKEN})
    kept, disowned = pdq_values(2, seed=47)
    feed.put(kept, tags=("csam",))
    feed.put(disowned)
    feed.put("ab" * 20, type="URI")  # not a hash Bastion banks: skipped and counted
    exchange_id = add(sessions, clock, feed)
    first = fetch(sessions, clock, exchange_id)
    assert (first.status, first.added, first.skipped) == ("ok", 2, 1)
    with sessions() as session:
        item = session.scalar(select(ExchangeItem).where(ExchangeItem.upstream_id == f"HASH_PDQ:{kept}"))
        assert item is not None
        labels = json.loads(item.labels_json)
    assert labels["opinion"] == "positive_class" and labels["tags"] == ["csam"] and len(labels["descriptors"]) == 1

    clock.advance(timedelta(minutes=5))
    feed.put(disowned, status="NON_MALICIOUS")
    second = fetch(sessions, clock, exchange_id)
    assert (second.status, second.deleted) == ("ok", 1)
    assert banked(sessions) == [kept]
