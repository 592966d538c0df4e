"""Timers: due work runs when the clock says so, failures back off, dead letters stop, leases recover."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.clock import ManualClock
from bastion.executor import InlineExecutor, InProcessExecutor, TaskContext, TaskRegistry
from bastion.timers import Ticker, cancel, schedule
from bastion.timers.models import Timer


def _registry(calls: list[dict[str, Any]], fail_times: int = 0) -> TaskRegistry:
    reg = TaskRegistry()
    failures = {"left": fail_times}

    @reg.task("remind")
    def remind(ctx: TaskContext, payload: dict[str, Any]) -> None:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise RuntimeError("platform down")
        calls.append(payload)

    return reg


def _ticker(sessions: sessionmaker[Session], clock: ManualClock, reg: TaskRegistry, name: str = "t1") -> Ticker:
    return Ticker(TaskContext(sessions=sessions, clock=clock), reg, name=name)


def test_runs_only_when_due(sessions: sessionmaker[Session], clock: ManualClock) -> None:
    calls: list[dict[str, Any]] = []
    with sessions() as s:
        schedule(s, kind="remind", due_at=clock.now() + timedelta(hours=36), clock=clock, subject="req:1",
                 payload={"n": 1})
        s.commit()
    ticker = _ticker(sessions, clock, _registry(calls))
    assert ticker.tick().ran == []
    clock.advance(timedelta(hours=35, minutes=59))
    assert ticker.tick().ran == []
    clock.advance(timedelta(minutes=1))
    assert len(ticker.tick().ran) == 1 and calls[0]["n"] == 1
    assert ticker.tick().ran == []  # done timers never run twice


def test_failures_back_off_then_dead_letter(sessions: sessionmaker[Session], clock: ManualClock) -> None:
    calls: list[dict[str, Any]] = []
    with sessions() as s:
        timer = schedule(s, kind="remind", due_at=clock.now(), clock=clock, max_attempts=3)
        s.commit()
        timer_id = timer.id
    ticker = _ticker(sessions, clock, _registry(calls, fail_times=10))
    assert ticker.tick().failed == [timer_id]
    assert ticker.tick().ran == []  # backing off
    clock.advance(timedelta(seconds=10))
    assert ticker.tick().failed == [timer_id]
    clock.advance(timedelta(seconds=20))
    assert ticker.tick().dead == [timer_id]
    with sessions() as s:
        row = s.get(Timer, timer_id)
        assert row is not None and row.status == "failed" and "platform down" in row.last_error


def test_cancelled_timers_do_not_run(sessions: sessionmaker[Session], clock: ManualClock) -> None:
    calls: list[dict[str, Any]] = []
    with sessions() as s:
        schedule(s, kind="remind", due_at=clock.now(), clock=clock, subject="req:9")
        assert cancel(s, subject="req:9") == 1
        s.commit()
    assert _ticker(sessions, clock, _registry(calls)).tick().ran == []


def test_a_dead_tickers_lease_expires_and_the_work_is_reclaimed(sessions: sessionmaker[Session],
                                                               clock: ManualClock) -> None:
    calls: list[dict[str, Any]] = []
    with sessions() as s:
        schedule(s, kind="remind", due_at=clock.now(), clock=clock)
        s.commit()
    crashed = _ticker(sessions, clock, _registry(calls), name="crashed")
    assert len(crashed._claim(10)) == 1  # claimed, then the process "dies"
    survivor = _ticker(sessions, clock, _registry(calls), name="survivor")
    assert survivor.tick().ran == []
    clock.advance(timedelta(minutes=6))
    assert len(survivor.tick().ran) == 1 and len(calls) == 1


def test_concurrent_tickers_never_run_a_timer_twice(sessions: sessionmaker[Session], clock: ManualClock) -> None:
    calls: list[dict[str, Any]] = []
    lock = threading.Lock()
    reg = TaskRegistry()

    @reg.task("remind")
    def remind(ctx: TaskContext, payload: dict[str, Any]) -> None:
        with lock:
            calls.append(payload)

    with sessions() as s:
        for i in range(60):
            schedule(s, kind="remind", due_at=clock.now(), clock=clock, payload={"i": i})
        s.commit()
    tickers = [_ticker(sessions, clock, reg, name=f"t{i}") for i in range(4)]
    threads = [threading.Thread(target=lambda t=t: [t.tick(limit=7) for _ in range(10)]) for t in tickers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(c["i"] for c in calls) == list(range(60))
    with sessions() as s:
        assert set(s.scalars(select(Timer.status))) == {"done"}


def test_dedupe_key_moves_instead_of_duplicating(sessions: sessionmaker[Session], clock: ManualClock) -> None:
    with sessions() as s:
        schedule(s, kind="remind", due_at=clock.now() + timedelta(hours=1), clock=clock, dedupe_key="req:1:half")
        schedule(s, kind="remind", due_at=clock.now() + timedelta(hours=2), clock=clock, dedupe_key="req:1:half")
        s.commit()
        rows = s.scalars(select(Timer)).all()
        assert len(rows) == 1 and rows[0].due_at == clock.now() + timedelta(hours=2)


def test_executors_run_registered_tasks(sessions: sessionmaker[Session], clock: ManualClock) -> None:
    calls: list[dict[str, Any]] = []
    reg = _registry(calls)
    ctx = TaskContext(sessions=sessions, clock=clock)
    InlineExecutor(ctx, reg).submit("remind", {"via": "inline"}).result()
    pool = InProcessExecutor(ctx, workers=2, reg=reg)
    pool.submit("remind", {"via": "pool"}).result(timeout=10)
    pool.shutdown()
    assert [c["via"] for c in calls] == ["inline", "pool"]
