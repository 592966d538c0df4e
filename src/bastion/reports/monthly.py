"""The monthly timer: after each month closes, draft India's compliance report and tell compliance staff.

Rule 4(1)(d) wants the report every month; nobody should have to remember to start it. One
deduplicated timer (any number of processes may schedule it) wakes at the start of each month,
drafts the report for the month that just closed (unless a version of it exists already), mails
every active compliance user that it waits for a second person's approval, and re-arms itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
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

TASK = "reports.india_monthly"
KIND = "india-monthly"
ACTOR = "timer:reports"


def month_start(at: datetime, offset: int = 0) -> datetime:
    index = at.year * 12 + at.month - 1 + offset
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def last_closed(now: datetime) -> str:
    return month_start(now, -1).strftime("%Y-%m")


def needs_draft(session: Session, period: str) -> bool:
    """No version yet, or only a draft built before the month closed (which cannot be approved)."""
    existing = versions_of(session, KIND, period)
    return not existing or all(v.status in ("draft", "approved") and v.provisional for v in existing)


def schedule(session: Session, clock: Clock) -> None:
    """Due now if the month that last closed has no report yet, else at the start of next month."""
    now = clock.now()
    due = now if needs_draft(session, last_closed(now)) else month_start(now, 1)
    timers.schedule(session, kind=TASK, due_at=due, clock=clock, subject=f"report:{KIND}", dedupe_key=TASK)


def run(ctx: TaskContext, payload: dict[str, Any]) -> None:
    with ctx.sessions() as session:
        period = last_closed(ctx.clock.now())
        if needs_draft(session, period):
            row = draft(session, KIND, period, actor=ACTOR, actor_id=None, clock=ctx.clock)
            recipients = sorted(session.scalars(select(User.email).where(
                User.role == Role.COMPLIANCE.value, User.disabled.is_(False), User.email != "")))
            if recipients:
                queue_mail(session, to=recipients, subject=f"India monthly compliance report for {period}: approve it",
                           text=(f"The monthly compliance report (IT Rules 2021, Rule 4(1)(d)) for {period} has been "
                                 f"drafted from Bastion's records.\n\nA compliance officer checks and approves it, and "
                                 f"a second person publishes it: /transparency/{row.id}\n"),
                           kind="reports.drafted", subject_ref=f"report:{KIND}:{period}", actor=ACTOR,
                           clock=ctx.clock, idempotency_key=f"reports.{KIND}.{period}.drafted")
        timers.schedule(session, kind=TASK, due_at=month_start(ctx.clock.now(), 1), clock=ctx.clock,
                        subject=f"report:{KIND}", dedupe_key=TASK)
        session.commit()


registry.task(TASK)(run)
