"""Running one outbox pass and then re-arming the queue's deduplicated wake-up timer.

Every write that makes work due moves one shared timer to "now"; after a pass the task
moves it to when the outbox next has work (or to a slow heartbeat), so retries happen on
time without polling and a missed wake-up heals itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.executor import TaskContext
from bastion.timers.models import Timer

R = TypeVar("R")


class Schedule(Protocol):
    def __call__(self, session: Session, *, clock: Clock, at: datetime | None = None) -> Timer: ...


def run_then_rearm(ctx: TaskContext, work: Callable[[], R], *, schedule: Schedule,
                   next_due: Callable[[Session], datetime | None], heartbeat: timedelta) -> R:
    """Run one pass, then point the timer at the next due work.

    A pass that fails outright (nothing configured, database trouble) still re-arms, at
    the heartbeat rather than at the due work, so the outbox is never forgotten and a
    misconfigured process does not spin.
    """
    try:
        result = work()
    except Exception:
        rearm(ctx, schedule=schedule, next_due=next_due, heartbeat=heartbeat, follow_work=False)
        raise
    rearm(ctx, schedule=schedule, next_due=next_due, heartbeat=heartbeat, follow_work=True)
    return result


def rearm(ctx: TaskContext, *, schedule: Schedule, next_due: Callable[[Session], datetime | None],
          heartbeat: timedelta, follow_work: bool) -> None:
    """Point the wake-up timer at the next due work (or only at the heartbeat).

    The timer row is written (and so locked) before the outbox is read: a row queued
    meanwhile either is seen by the read, or moves the timer to "now" after us.
    """
    now = ctx.clock.now()
    with ctx.sessions() as session, session.begin():
        timer = schedule(session, clock=ctx.clock, at=now + heartbeat)
        if not follow_work:
            return
        session.flush()
        due = next_due(session)
        if due is not None and due < timer.due_at:
            timer.due_at = max(due, now)
