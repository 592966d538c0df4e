"""Waking the mail worker through the timers table.

Every write that makes mail due (a queued message, an operator's requeue) moves one
shared, deduplicated timer to "now" in the same transaction; the `mail.send` task
moves it to the next retry when it is done. A burst of messages wakes one worker.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.timers import schedule
from bastion.timers.models import Timer

#: The task name the ticker and executors know the mail deliverer by.
SEND_TASK = "mail.send"
TIMER_SUBJECT = "mail:outbox"


def schedule_send(session: Session, *, clock: Clock, at: datetime | None = None) -> Timer:
    """Make the ticker run `mail.send` at `at` (default: now), in the caller's transaction."""
    return schedule(session, kind=SEND_TASK, due_at=at or clock.now(), clock=clock,
                    subject=TIMER_SUBJECT, dedupe_key=SEND_TASK)
