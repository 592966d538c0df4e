"""Tech Against Terrorism (TCAP): python-threatexchange's own client against the local stand-in over HTTP.

A full fetch (login, then the list page by page), an incremental one from the stored checkpoint
applying a deletion and an addition, a fetch killed between pages resuming with no gap and no
duplicate, and a refused login leaving the exchange `auth_failed` with nothing lost.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bastion.banks import service as banks
from bastion.banks.models import EntrySignal
from bastion.clock import ManualClock
from bastion.dev.tcap import TcapStandin
from bastion.exchanges import service
from bastion.exchanges.fetch import FetchReport, run_fetch
from bastion.exchanges.models import Exchange, ExchangeItem
from tests.exchanges.conftest import LOOPBACK, SECRET, md5_values, pdq_values

USER, PASSWORD = "tcap-user", "tcap-password-5e1a"


class Killed(BaseException):
    """Stands for the process dying mid-fetch."""


@pytest.fixture
def tcap(clock: ManualClock) -> Any:
    with TcapStandin(USER, PASSWORD, clock=clock.now, page_size=40) as server:
        yield server


def add(sessions: sessionmaker[Session], clock: ManualClock, tcap: TcapStandin) -> int:
    with sessions() as session:
        banks.create_bank(session, name="TCAP", actor="test", clock=clock)
        exchange = service.add_exchange(
            session, name="TCAP_LIST", api="tat", settings={"base_url": tcap.base_url}, bank_names=["TCAP"],
            credentials={"user": USER, "password": PASSWORD}, fetch_every_minutes=30, actor="admin", clock=clock,
            secret=SECRET, policy=LOOPBACK)
        session.commit()
        return exchange.id


def banked(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return sorted(session.scalars(select(EntrySignal.value)))


def fetch(sessions: sessionmaker[Session], clock: ManualClock, exchange_id: int, **kwargs: Any) -> FetchReport:
    return run_fetch(sessions, exchange_id, clock=clock, secret=SECRET, policy=LOOPBACK, **kwargs)


def seed(tcap: TcapStandin, clock: ManualClock, count: int) -> list[str]:
    values = pdq_values(count, seed=81)
    start = clock.now() - timedelta(hours=1)
    for n, value in enumerate(values):
        tcap.put(value, at=start + timedelta(seconds=n))
    return values


def test_a_full_then_an_incremental_fetch_from_the_checkpoint(
        sessions: sessionmaker[Session], clock: ManualClock, tcap: TcapStandin) -> None:
    values = seed(tcap, clock, 100)
    video, image_md5 = md5_values(2, seed=82)
    tcap.put(video, algorithm="MD5", file_type="mp4")
    tcap.put(image_md5, algorithm="MD5", file_type="jpg")  # the library keeps MD5s of videos only
    exchange_id = add(sessions, clock, tcap)
    full = fetch(sessions, clock, exchange_id)
    assert (full.status, full.added, full.pages) == ("ok", 101, 3), full.error
    assert banked(sessions) == sorted(values + [video])

    with sessions() as session:
        stored = json.loads(session.get(Exchange, exchange_id).checkpoint_json)  # type: ignore[union-attr]
    clock.advance(timedelta(minutes=30))
    tcap.delete(values[0])
    new = pdq_values(1, seed=83)[0]
    tcap.put(new)
    before = len(tcap.requests)
    incremental = fetch(sessions, clock, exchange_id)
    assert (incremental.status, incremental.added, incremental.deleted) == ("ok", 1, 1), incremental.error
    assert banked(sessions) == sorted(values[1:] + [video, new])
    lists = [dict(parse_qsl(r["query"])) for r in tcap.requests[before:] if r["path"].endswith("/all")]
    assert lists[0]["after"] == stored["checkpoint"]


def test_a_fetch_killed_between_pages_resumes_with_no_gap_and_no_duplicate(
        sessions: sessionmaker[Session], clock: ManualClock, tcap: TcapStandin) -> None:
    values = seed(tcap, clock, 100)
    exchange_id = add(sessions, clock, tcap)

    def die(report: FetchReport) -> None:
        raise Killed

    with pytest.raises(Killed):
        fetch(sessions, clock, exchange_id, on_page=die)
    assert len(banked(sessions)) == 40
    with sessions() as session:
        exchange = session.get(Exchange, exchange_id)
        assert exchange is not None
        exchange.status = "idle"  # the dead process's claim
        session.commit()
    resumed = fetch(sessions, clock, exchange_id)
    assert (resumed.status, resumed.added) == ("ok", 60), resumed.error
    assert banked(sessions) == sorted(values)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ExchangeItem)) == 100


def test_a_refused_login_leaves_the_exchange_auth_failed_and_keeps_what_was_fetched(
        sessions: sessionmaker[Session], clock: ManualClock, tcap: TcapStandin) -> None:
    values = seed(tcap, clock, 5)
    exchange_id = add(sessions, clock, tcap)
    assert fetch(sessions, clock, exchange_id).status == "ok"
    tcap.expired = True
    clock.advance(timedelta(hours=1))
    report = fetch(sessions, clock, exchange_id)
    assert report.status == "auth_failed" and PASSWORD not in report.error
    assert banked(sessions) == sorted(values)
