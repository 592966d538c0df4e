"""Shared helpers of the actions tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bastion.actions import DeliveryPolicy, enqueue
from bastion.clock import ManualClock

PLATFORM_SECRET = "actions-test-secret-0123456789abcdef01"
POLICY = DeliveryPolicy(
    max_attempts=4, base_delay=timedelta(seconds=10), max_delay=timedelta(minutes=2), jitter=0.25,
    lease=timedelta(minutes=1),
)


def unix(clock: ManualClock) -> Callable[[], float]:
    """The clock as the platform package wants it (Unix seconds)."""
    return lambda: clock.now().timestamp()


def add_action(sessions: sessionmaker[Session], clock: ManualClock, **fields: object) -> int:
    """Enqueue in a transaction of its own (as a reviewer's decision would) and return the id."""
    defaults: dict[str, object] = {
        "kind": "remove_content", "target": "post-2001", "payload": {"reason": "hash_match"},
        "subject": "case:12", "actor": "user:reviewer",
    }
    with sessions() as session:
        row = enqueue(session, clock=clock, **{**defaults, **fields})  # type: ignore[arg-type]
        session.commit()
        return row.id
