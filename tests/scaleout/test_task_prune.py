"""The task outbox is pruned: published messages past the retention go, pending ones and recent ones stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.broker.models import TaskMessage
from bastion.clock import ManualClock
from bastion.executor import TaskContext
from bastion.outbox import RETENTION_SERVICE
from bastion.outbox.housekeeping import BATCH, PRUNE_TASK, prune_task
from bastion.timers.models import Timer


def _message(session: Session, clock: ManualClock, *, status: str, age: timedelta) -> int:
    at = clock.now() - age
    row = TaskMessage(task="scans.run", queue="scan", payload="{}", status=status, publish_attempts=1, last_error="",
                      created_at=at, published_at=at if status == "published" else None)
    session.add(row)
    session.flush()
    return row.id


def test_published_messages_past_the_retention_are_pruned_in_bounded_passes(
        sessions: sessionmaker[Session], clock: ManualClock) -> None:
    with sessions() as session:
        old = [_message(session, clock, status="published", age=timedelta(days=3)) for _ in range(BATCH + 5)]
        recent = _message(session, clock, status="published", age=timedelta(hours=1))
        waiting = _message(session, clock, status="pending", age=timedelta(days=30))  # never published: kept
        session.commit()
    ctx = TaskContext(sessions=sessions, clock=clock, services={RETENTION_SERVICE: timedelta(days=2)})
    prune_task(ctx, {})
    with sessions() as session:
        left = set(session.scalars(select(TaskMessage.id)))
        timer = session.scalars(select(Timer).where(Timer.dedupe_key == PRUNE_TASK)).one()
    assert left == {recent, waiting} and not left & set(old)
    assert timer.status == "pending" and timer.due_at > clock.now()  # re-armed for the next pass
