"""Waking the delivery worker through the timers table.

The outbox is drained by the `actions.deliver` task. Rather than polling, every write
that makes work due (an enqueue, an operator's requeue) moves one shared timer to
"now" in the same transaction, and the task moves it to the next retry when it is done.
The timer is deduplicated by key, so a burst of decisions still wakes one worker.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.timers import schedule
from bastion.timers.models import Timer

#: The task name the ticker and executors know the deliverer by.
DELIVER_TASK = "actions.deliver"
TIMER_SUBJECT = "actions:outbox"


def schedule_delivery(session: Session, *, clock: Clock, at: datetime | None = None) -> Timer:
    """Make the ticker run `actions.deliver` at `at` (default: now), in the caller's transaction."""
    return schedule(
        session, kind=DELIVER_TASK, due_at=at or clock.now(), clock=clock,
        subject=TIMER_SUBJECT, dedupe_key=DELIVER_TASK,
    )
