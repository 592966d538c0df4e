"""The CyberTipline worker's tasks and how an application wires them.

* ``ncmec.advance`` (payload ``report_id``) is the report's timer (one per report,
  deduplicated; `reports.wake` moves it). Where a relay is wired (`bastion serve`,
  `bastion worker`) it publishes an ``ncmec.run`` message through the task outbox, so
  the filing runs on the ``ncmec`` queue (a `bastion worker` when a broker is
  configured, the server's executor otherwise), and re-arms itself one report lease
  later as the sweeper: if that message is lost, or its worker dies holding the
  report's lease, the timer fires again once the lease has run out and publishes
  another. A run that schedules its own next step (`wake`) moves the timer first.
  With no relay (a bare task context) it drives the report itself, as before.
* ``ncmec.run`` (payload ``report_id``) drives one approved report as far as it can
  go now: submit, upload, fileinfo, finish, or a requested retraction. Idempotent by
  report: it runs only under the report's lease, and records every call's intent
  before making it (`ncmec.worker.Worker`), so a second delivery of the same message
  finds the lease held, or the step already recorded.
* ``ncmec.watch`` (payload ``report_id``) flags a report NCMEC is about to delete
  unfinished, and re-creates one that is gone.

All read the client factory, the evidence vault and the platform connector factory
from ``TaskContext.services``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from bastion.broker import RELAY_SERVICE, enqueue
from bastion.executor import TaskContext, registry
from bastion.ncmec.config import NcmecConfig
from bastion.ncmec.lifecycle import ADVANCE_TASK, CLIENT_FACTORY, LEASE, WATCH_TASK, Worker
from bastion.ncmec.reports import LEASE_SERVICE, wake
from bastion.ncmec.tables import APPROVED, FINISHED, IN_FLIGHT, PENDING, NcmecApiCall, NcmecReport

__all__ = ["ADVANCE_TASK", "CLIENT_FACTORY", "RUN_TASK", "WATCH_TASK", "advance_task", "run_task", "watch_task",
           "wire"]

#: The filing itself, published by the report's timer; routed to the `ncmec` queue.
RUN_TASK = "ncmec.run"


def sweep_after(lease: timedelta) -> timedelta:
    """The sweeper fires this long after a publish: past the report lease a dead worker may still hold.

    The margin is a minute, or the lease itself when shorter (a short configured lease, as the
    worker tests use, should bring a dead worker's report back soon, not a minute later).
    """
    return lease + min(timedelta(minutes=1), lease)


#: The sweeper's delay under the default lease.
SWEEP_AFTER = sweep_after(LEASE)


@registry.task(RUN_TASK)
def run_task(ctx: TaskContext, payload: dict[str, Any]) -> None:
    Worker(ctx.sessions, ctx.clock, ctx.services).advance(int(payload["report_id"]))


@registry.task(ADVANCE_TASK)
def advance_task(ctx: TaskContext, payload: dict[str, Any]) -> None:
    report_id = int(payload["report_id"])
    relay = ctx.services.get(RELAY_SERVICE)
    if relay is None:
        Worker(ctx.sessions, ctx.clock, ctx.services).advance(report_id)
        return
    with ctx.sessions() as session, session.begin():
        report = session.get(NcmecReport, report_id)
        if report is None or not has_work(session, report):
            return
        message = enqueue(session, RUN_TASK, {"report_id": report_id}, clock=ctx.clock).id
        sweep = sweep_after(ctx.services.get(LEASE_SERVICE, LEASE))
        wake(session, report, ctx.clock.now() + sweep, ctx.clock)  # the sweeper, unless the run moves it
    relay.relay(ids=[message])


def has_work(session: Session, report: NcmecReport) -> bool:
    """Whether `Worker.advance` would do anything for the report (see `Worker._step`)."""
    if report.state == FINISHED:
        return report.recorded_at is None
    if report.state in (APPROVED, *IN_FLIGHT):
        return True
    return bool(session.scalar(select(exists().where(NcmecApiCall.report_id == report.id,
                                                     NcmecApiCall.outcome == PENDING))))


@registry.task(WATCH_TASK)
def watch_task(ctx: TaskContext, payload: dict[str, Any]) -> None:
    Worker(ctx.sessions, ctx.clock, ctx.services).watch(int(payload["report_id"]))


def wire(services: dict[str, Any], config: NcmecConfig) -> None:
    """Put the report lease, and the NCMEC client factory if `config` names an account, into `services`."""
    services[LEASE_SERVICE] = config.lease
    factory = config.client_factory()
    if factory is not None:
        services.setdefault(CLIENT_FACTORY, factory)
