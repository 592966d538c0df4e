"""The exchange fetch tasks, run from the exchange's timer row.

`exchanges.fetch` (the timer's task) hands the fetch to the in-process executor when the
server runs one, so a fetch of many minutes never holds up the ticker (and every other
timer) behind it; before it does, it moves the timer to the next regular run, so a
worker that dies mid-fetch is followed by another fetch, which resumes from the
checkpoint. Without an executor (tests, tools) it fetches in place.

`exchanges.run` fetches and then moves the same timer row to the next run
(`fetch_every_minutes` on), or cancels it after `auth_failed` (no retry until the
credentials are edited); a paused or deleted exchange has no timer. Neither task raises
for a failed fetch: the failure is recorded on the exchange.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bastion.executor import TaskContext, registry
from bastion.exchanges import timing
from bastion.exchanges.fetch import FetchReport, run_fetch
from bastion.exchanges.models import Exchange
from bastion.scanning.urlfetch import FetchPolicy

SECRET_SERVICE = "exchanges.instance_secret"
POLICY_SERVICE = "exchanges.fetch_policy"
EXECUTOR_SERVICE = "executor"
RUN_TASK = "exchanges.run"
#: A fetch that found the exchange busy (another worker holds it) looks again this soon.
BUSY_RETRY = timedelta(minutes=5)


def wire(services: dict[str, Any], secret: bytes, policy: FetchPolicy) -> None:
    services[SECRET_SERVICE], services[POLICY_SERVICE] = secret, policy


@registry.task(timing.TASK)
def fetch_task(ctx: TaskContext, payload: dict[str, Any]) -> None:
    exchange_id = int(payload["exchange_id"])
    executor = ctx.services.get(EXECUTOR_SERVICE)
    if executor is None:
        run_task(ctx, {"exchange_id": exchange_id})
        return
    with ctx.sessions() as session:
        exchange = session.get(Exchange, exchange_id)
        if exchange is None or exchange.paused:
            return
        timing.schedule_fetch(session, exchange, ctx.clock,
                              at=ctx.clock.now() + timedelta(minutes=exchange.fetch_every_minutes))
        session.commit()
    executor.submit(RUN_TASK, {"exchange_id": exchange_id})


@registry.task(RUN_TASK)
def run_task(ctx: TaskContext, payload: dict[str, Any]) -> None:
    exchange_id = int(payload["exchange_id"])
    report = run_fetch(ctx.sessions, exchange_id, clock=ctx.clock, secret=ctx.services[SECRET_SERVICE],
                       policy=ctx.services[POLICY_SERVICE])
    reschedule(ctx, exchange_id, report)


def reschedule(ctx: TaskContext, exchange_id: int, report: FetchReport) -> None:
    with ctx.sessions() as session:
        exchange = session.get(Exchange, exchange_id)
        if exchange is None:
            return
        if report.status == "auth_failed" or exchange.paused:
            timing.cancel_fetches(session, exchange)
        else:
            wait = BUSY_RETRY if report.status == "busy" else timedelta(minutes=exchange.fetch_every_minutes)
            timing.schedule_fetch(session, exchange, ctx.clock, at=ctx.clock.now() + wait)
        session.commit()
