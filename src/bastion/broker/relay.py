"""The relay: committed task messages to the broker (or the in-process executor), at least once.

A relay takes due rows under a short lease (`FOR UPDATE SKIP LOCKED`, then a committed
UPDATE), publishes them with no transaction open, and marks the published ones. A relay
that dies between publishing and marking leaves rows whose lease runs out and which are
published again: delivery is at least once, and every task is idempotent by its key,
so the effect is recorded once. Any number of relays may run (servers and workers).
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bastion.broker.models import TaskMessage
from bastion.clock import Clock
from bastion.executor import Executor

log = logging.getLogger(__name__)

#: Where an application puts its `Relay` in `TaskContext.services`, so a task (an outbox sweeper)
#: can publish what it enqueued without waiting for the relay loop.
RELAY_SERVICE = "broker.relay"

#: Longer than a publish takes (a confirmed AMQP publish is milliseconds), short enough that a
#: relay that died mid-publish delays its rows by seconds only.
LEASE = timedelta(seconds=30)


class Dispatcher(Protocol):
    """Hands one message to whatever runs tasks; raises if it could not."""

    def publish(self, task: str, queue: str, payload: dict[str, Any], message_id: int) -> None: ...


class ExecutorDispatcher:
    """No broker: the in-process executor (`bastion serve`'s threads, or inline in tests) runs the task."""

    def __init__(self, executor: Executor) -> None:
        self.executor = executor

    def publish(self, task: str, queue: str, payload: dict[str, Any], message_id: int) -> None:
        self.executor.submit(task, payload)


class Relay:
    """Publishes committed `task_outbox` rows through a `Dispatcher`."""

    def __init__(self, sessions: sessionmaker[Session], dispatcher: Dispatcher, clock: Clock) -> None:
        self.sessions, self.dispatcher, self.clock = sessions, dispatcher, clock

    def relay(self, limit: int = 500, ids: list[int] | None = None) -> int:
        """Publish due rows (only `ids`, when given: a request's own, right after its commit); how many went."""
        claimed = self._claim(limit, ids)
        published: list[int] = []
        failed: dict[int, str] = {}
        for message_id, task, queue, payload in claimed:
            if failed:  # the broker refused one: leave the rest for the next pass rather than time out on each
                failed[message_id] = "not tried: an earlier publish in the pass failed"
                continue
            try:
                self.dispatcher.publish(task, queue, json.loads(payload), message_id)
            except Exception as exc:  # broker down or refusing: the row stays pending, nothing is lost
                log.warning("task message not published", extra={"task_message": message_id, "error": type(exc).__name__})
                failed[message_id] = f"{type(exc).__name__}: {exc}"[:2000]
                continue
            published.append(message_id)
        self._settle(published, failed)
        return len(published)

    def pending(self) -> int:
        """Rows not yet published (for /readyz and operators)."""
        from sqlalchemy import func

        with self.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(TaskMessage)
                                      .where(TaskMessage.status == "pending")) or 0)

    def _claim(self, limit: int, ids: list[int] | None) -> list[tuple[int, str, str, str]]:
        now = self.clock.now()
        due = (TaskMessage.status == "pending") & or_(TaskMessage.lease_until.is_(None), TaskMessage.lease_until <= now)
        query = select(TaskMessage.id, TaskMessage.task, TaskMessage.queue, TaskMessage.payload).where(due)
        if ids is not None:
            if not ids:
                return []
            query = query.where(TaskMessage.id.in_(ids))
        with self.sessions() as session, session.begin():
            rows = session.execute(query.order_by(TaskMessage.id).limit(limit).with_for_update(skip_locked=True)).all()
            if rows:
                session.execute(update(TaskMessage).where(TaskMessage.id.in_([r[0] for r in rows]), due)
                                .values(lease_until=now + LEASE, publish_attempts=TaskMessage.publish_attempts + 1)
                                .execution_options(synchronize_session=False))
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def _settle(self, published: list[int], failed: dict[int, str]) -> None:
        if not published and not failed:
            return
        now = self.clock.now()
        with self.sessions() as session, session.begin():
            if published:
                session.execute(update(TaskMessage).where(TaskMessage.id.in_(published))
                                .values(status="published", published_at=now, lease_until=None, last_error="")
                                .execution_options(synchronize_session=False))
            for message_id, error in failed.items():
                session.execute(update(TaskMessage).where(TaskMessage.id == message_id)
                                .values(lease_until=None, last_error=error)
                                .execution_options(synchronize_session=False))

    def run_forever(self, stop: threading.Event, interval_seconds: float) -> None:
        """Relay until `stop` is set; a failed pass (database or broker down) never stops the loop."""
        while not stop.is_set():
            try:
                while self.relay() and not stop.is_set():
                    pass
            except Exception:
                log.exception("relay error")
            stop.wait(interval_seconds)
