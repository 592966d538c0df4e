"""Timers that draft a report when its period closes, and tell compliance staff it waits for approval.

Nobody should have to remember to start a periodic report. Each cadence (India's monthly report,
the semi-annual law-enforcement report) is one deduplicated timer, so any number of processes may
schedule it and any number of tickers may run: the timer row is claimed by one ticker at a time.
When it fires it drafts the period that just closed unless a version of it exists already (so a
second run drafts nothing), mails every active compliance user once (the mail is keyed by kind and
period), and re-arms itself for the next close. If drafting fails nothing is committed and the
ticker retries the timer with backoff. A draft made by the timer still needs a second person: one
approves it and another publishes it (`versions.publish`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import timers
from bastion.auth.models import User
from bastion.auth.roles import Role
from bastion.clock import Clock
from bastion.executor import TaskContext, registry
from bastion.mail.outbox import queue_mail
from bastion.reports.versions import draft, versions_of

ACTOR = "timer:reports"


@dataclass(frozen=True)
class Cadence:
    """A report kind drafted on a fixed calendar: `start(at, n)` is the start of the period n periods from
    the one holding `at`, and `label(start)` names the period that starts there (2026-11, 2026-H1)."""

    kind: str
    task: str
    title: str
    start: Callable[[datetime, int], datetime]
    label: Callable[[datetime], str]

    def last_closed(self, now: datetime) -> str:
        return self.label(self.start(now, -1))

    def next_close(self, now: datetime) -> datetime:
        return self.start(now, 1)


def needs_draft(session: Session, cadence: Cadence, period: str) -> bool:
    """No version yet, or only a draft built before the period closed (which cannot be approved)."""
    existing = versions_of(session, cadence.kind, period)
    return not existing or all(v.status in ("draft", "approved") and v.provisional for v in existing)


def _arm(session: Session, cadence: Cadence, clock: Clock, due: datetime) -> None:
    timers.schedule(session, kind=cadence.task, due_at=due, clock=clock, subject=f"report:{cadence.kind}",
                    dedupe_key=cadence.task)


def schedule(session: Session, cadence: Cadence, clock: Clock) -> None:
    """Due now if the period that last closed has no report yet, else when the current period closes."""
    now = clock.now()
    _arm(session, cadence, clock, now if needs_draft(session, cadence, cadence.last_closed(now))
         else cadence.next_close(now))


def run(ctx: TaskContext, cadence: Cadence) -> None:
    with ctx.sessions() as session:
        period = cadence.last_closed(ctx.clock.now())
        if needs_draft(session, cadence, period):
            row = draft(session, cadence.kind, period, actor=ACTOR, actor_id=None, clock=ctx.clock)
            recipients = sorted(session.scalars(select(User.email).where(
                User.role == Role.COMPLIANCE.value, User.disabled.is_(False), User.email != "")))
            if recipients:
                queue_mail(session, to=recipients, subject=f"{cadence.title} for {period}: approve it",
                           text=(f"The {cadence.title} for {period} has been drafted from Bastion's records.\n\n"
                                 f"A compliance officer checks and approves it, and a second person publishes it: "
                                 f"/transparency/{row.id}\n"),
                           kind="reports.drafted", subject_ref=f"report:{cadence.kind}:{period}", actor=ACTOR,
                           clock=ctx.clock, idempotency_key=f"reports.{cadence.kind}.{period}.drafted")
        _arm(session, cadence, ctx.clock, cadence.next_close(ctx.clock.now()))
        session.commit()


def register(cadence: Cadence) -> Callable[[TaskContext, dict[str, Any]], None]:
    """Register the cadence's timer task on the process-wide registry."""
    def task(ctx: TaskContext, payload: dict[str, Any]) -> None:
        run(ctx, cadence)

    return registry.task(cadence.task)(task)
