"""Claiming and running due timers.

Claiming is safe with any number of tickers: candidates are selected with
`FOR UPDATE SKIP LOCKED` on PostgreSQL (so tickers do not queue behind each other),
and each claim is a conditional UPDATE that only succeeds if the row is still
claimable, which is what makes it safe on SQLite too. A claim is a lease: a ticker
that dies mid-task leaves a row whose lease expires and which another ticker reclaims.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, or_, select, update

from bastion.executor import TaskContext, TaskRegistry, registry
from bastion.timers.models import Timer

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=1)


@dataclass
class TickReport:
    """What one tick did."""

    ran: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)


class Ticker:
    """Runs due timers through the task registry."""

    def __init__(self, ctx: TaskContext, reg: TaskRegistry = registry, name: str | None = None) -> None:
        self.ctx, self.reg = ctx, reg
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"

    def tick(self, limit: int = 50) -> TickReport:
        """Claim and run every due timer (up to `limit`) once."""
        report = TickReport()
        for timer_id in self._claim(limit):
            self._run(timer_id, report)
        return report

    def _claim(self, limit: int) -> list[int]:
        now = self.ctx.clock.now()
        claimable = or_(
            and_(Timer.status == "pending", Timer.due_at <= now),
            and_(Timer.status == "running", Timer.lease_until <= now),
        )
        with self.ctx.sessions() as session, session.begin():
            candidates = session.scalars(
                select(Timer.id).where(claimable).order_by(Timer.due_at).limit(limit).with_for_update(skip_locked=True)
            ).all()
            claimed = []
            for timer_id in candidates:
                result = session.execute(
                    update(Timer).where(Timer.id == timer_id, claimable)
                    .values(status="running", lease_until=now + LEASE, claimed_by=self.name[:100])
                )
                if result.rowcount == 1:
                    claimed.append(timer_id)
        return claimed

    def _run(self, timer_id: int, report: TickReport) -> None:
        with self.ctx.sessions() as session:
            timer = session.get(Timer, timer_id)
            if timer is None:
                return
            kind, payload = timer.kind, json.loads(timer.payload)
            payload.setdefault("_timer_id", timer.id)
            payload.setdefault("_subject", timer.subject)
        try:
            self.reg.get(kind)(self.ctx, payload)
        except Exception as exc:  # any failure is retried with backoff, then dead-lettered
            log.warning("timer task failed", extra={"timer": timer_id, "kind": kind, "error": type(exc).__name__})
            self._finish(timer_id, error=f"{type(exc).__name__}: {exc}", report=report)
            return
        self._finish(timer_id, error=None, report=report)

    def _finish(self, timer_id: int, *, error: str | None, report: TickReport) -> None:
        now = self.ctx.clock.now()
        with self.ctx.sessions() as session, session.begin():
            timer = session.get(Timer, timer_id)
            if timer is None or timer.status != "running" or timer.claimed_by != self.name[:100]:
                return  # cancelled or reclaimed while we ran
            timer.lease_until = None
            if error is None:
                timer.status, timer.finished_at = "done", now
                report.ran.append(timer_id)
                return
            timer.attempts += 1
            timer.last_error = error[:2000]
            if timer.attempts >= timer.max_attempts:
                timer.status, timer.finished_at = "failed", now
                report.dead.append(timer_id)
            else:
                timer.status = "pending"
                timer.due_at = now + min(MAX_BACKOFF, timedelta(seconds=10 * 2 ** (timer.attempts - 1)))
                report.failed.append(timer_id)

    def run_forever(self, stop: threading.Event, interval_seconds: float) -> None:
        """Tick until `stop` is set; errors in one tick never stop the loop."""
        while not stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("ticker error")
            stop.wait(interval_seconds)
