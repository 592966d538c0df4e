"""Pruning the task outbox: published task messages are deleted once they are older than a retention.

A task message is only an envelope (a task name and ids); once the relay has published it, the
work's own rows (a scan job, an outbox action, a chunk) hold the outcome, and the message is
kept only so operators can count recent publishes (the operations page, /metrics) and trace a
delivery. Without pruning, `task_outbox` grows by one row per scan forever.

The prune is a timer (`outbox.prune_tasks`, deduplicated: any number of servers may schedule
it, one ticker runs it). Each run deletes at most `MAX_PER_RUN` rows in batches of `BATCH`, so
it never holds long locks or one huge transaction; when it stopped at the bound it comes back
soon, otherwise at the next interval. Pending messages are never deleted, whatever their age.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bastion import timers
from bastion.broker import TaskMessage
from bastion.clock import Clock
from bastion.executor import TaskContext, registry

PRUNE_TASK = "outbox.prune_tasks"
#: `TaskContext.services` key of the retention (a `timedelta`, from the `task_outbox_retention_days` setting).
RETENTION_SERVICE = "outbox.task_retention"
DEFAULT_RETENTION = timedelta(days=7)
INTERVAL = timedelta(hours=1)
BATCH = 1000
MAX_PER_RUN = 20_000


def prune_published(session: Session, before: datetime, limit: int = BATCH) -> int:
    """Delete up to `limit` published messages published before `before` (oldest first); the caller commits."""
    ids = list(session.scalars(select(TaskMessage.id).where(TaskMessage.status == "published",
                                                            TaskMessage.published_at < before)
                               .order_by(TaskMessage.id).limit(limit)))
    if ids:
        session.execute(delete(TaskMessage).where(TaskMessage.id.in_(ids)).execution_options(synchronize_session=False))
    return len(ids)


def schedule_prune(session: Session, clock: Clock, *, at: datetime | None = None) -> None:
    """Keep one prune timer alive (deduplicated); the caller commits."""
    timers.schedule(session, kind=PRUNE_TASK, due_at=at or clock.now() + INTERVAL, clock=clock,
                    subject="broker:task_outbox", dedupe_key=PRUNE_TASK)


@registry.task(PRUNE_TASK)
def prune_task(ctx: TaskContext, payload: dict[str, Any]) -> None:
    """One bounded pass, then re-arm: soon if it stopped at the bound, else after `INTERVAL`."""
    retention: timedelta = ctx.services.get(RETENTION_SERVICE) or DEFAULT_RETENTION
    before, pruned, last = ctx.clock.now() - retention, 0, BATCH
    while last == BATCH and pruned < MAX_PER_RUN:
        with ctx.sessions() as session, session.begin():
            last = prune_published(session, before, BATCH)
        pruned += last
    with ctx.sessions() as session, session.begin():
        more = last == BATCH
        schedule_prune(session, ctx.clock, at=ctx.clock.now() + (timedelta(minutes=1) if more else INTERVAL))
