"""One outbox queue end to end: adding a row, requeueing a dead one, waking its worker, its task.

Platform actions and mail (and whatever else leaves the system next) differ in what a
row carries and how it is carried out; how a row is added (once per idempotency key,
audited, the worker woken in the same transaction), how an operator requeues a dead
one, and how the queue's task runs and re-arms its timer are the same, and live here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion import audit, timers
from bastion.broker import RELAY_SERVICE, TaskMessage, enqueue
from bastion.clock import Clock
from bastion.errors import Conflict, NotFound
from bastion.executor import TaskContext, registry
from bastion.outbox.table import OutboxTable
from bastion.outbox.wakeup import rearm, run_then_rearm
from bastion.timers.models import Timer

R = TypeVar("R")
#: The longest an outbox goes unchecked when nothing is due.
HEARTBEAT = timedelta(minutes=5)
#: How long a new row waits for the message written with it before the sweeper presumes it lost.
SWEEP_GRACE = timedelta(minutes=1)
#: `TaskContext.services` key of a `timedelta` overriding `Queue.sweep_grace` (from settings).
SWEEP_GRACE_SERVICE = "outbox.sweep_grace"


class RowWorker(Protocol):
    """What a queue's task needs of its lease worker (`bastion.outbox.LeaseWorker` and its subclasses)."""

    def orphans(self, grace: timedelta, limit: int = 500) -> list[int]: ...


@dataclass(frozen=True)
class Queue:
    """A queue: its table, the task that drains it, and how its rows are named in audits and errors."""

    table: OutboxTable
    #: The task name the ticker and executors know the worker by, e.g. "actions.deliver".
    task: str
    #: The subject of the queue's one deduplicated wake-up timer, e.g. "actions:outbox".
    timer_subject: str
    #: What a row is called in audit actions ("action" -> "action.requeue").
    noun: str
    #: The audit detail naming the row, e.g. "action_id".
    id_detail: str
    #: What a row is called in messages to people ("action", "message").
    label: str
    #: What idempotency keys should be derived from, said when one is reused for something else.
    keys_from: str
    heartbeat: timedelta = HEARTBEAT
    #: The task that delivers one row, by its outbox id (payload `outbox_id`): published through the
    #: task outbox (`bastion.broker.enqueue`) when a row is added or requeued. None: the queue is
    #: drained only by its timer's passes.
    row_task: str | None = None
    sweep_grace: timedelta = SWEEP_GRACE

    # -- waking the worker --------------------------------------------------------

    def schedule(self, session: Session, *, clock: Clock, at: datetime | None = None) -> Timer:
        """Make the ticker run the queue's task at `at` (default: now), in the caller's transaction.

        The timer is deduplicated by the task name, so a burst of new rows wakes one worker.
        """
        return timers.schedule(session, kind=self.task, due_at=at or clock.now(), clock=clock,
                               subject=self.timer_subject, dedupe_key=self.task)

    def next_due(self, session: Session) -> datetime | None:
        """When the outbox next has work: the earliest retry, or the earliest lease to expire."""
        return self.table.next_due(session)

    def register(self, work: Callable[[TaskContext, int], R], *,
                 one: Callable[[TaskContext, int], Any] | None = None,
                 worker: Callable[[TaskContext], RowWorker] | None = None) -> Callable[[TaskContext, int], Any]:
        """Register the queue's tasks; return the timer task's runner.

        `work` is one pass over at most `limit` due rows. With `row_task`, `one` delivers one row
        by id (registered as `row_task`) and `worker` builds the lease worker the sweeper asks for
        orphans. The timer task is then a sweeper wherever a relay is wired
        (`bastion.broker.RELAY_SERVICE`: `bastion serve`, `bastion worker`): it relays the queue's
        pending row messages and publishes one for each orphaned row, so every delivery runs as a
        row task (on the `deliver` queue when a broker is configured). Without a relay (a bare task
        context: tests, one-off scripts) it does the pass itself. Either way it then re-arms the
        wake-up timer, even when it fails (see `bastion.outbox.run_then_rearm`); the payload may
        carry `limit`.
        """
        def run(ctx: TaskContext, limit: int = 50) -> Any:
            relay = ctx.services.get(RELAY_SERVICE) if self.row_task and worker is not None else None
            if relay is None:
                return run_then_rearm(ctx, lambda: work(ctx, limit), schedule=self.schedule,
                                      next_due=self.next_due, heartbeat=self.heartbeat)
            assert worker is not None
            grace = ctx.services.get(SWEEP_GRACE_SERVICE) or self.sweep_grace
            return run_then_rearm(ctx, lambda: self._sweep(ctx, relay, worker(ctx), limit, grace),
                                  schedule=self.schedule, next_due=lambda s: self.sweep_due(s, grace),
                                  heartbeat=self.heartbeat)

        def task(ctx: TaskContext, payload: dict[str, Any]) -> None:
            run(ctx, limit=int(payload.get("limit", 50)))

        task.__name__ = task.__qualname__ = self.task.replace(".", "_")
        registry.task(self.task)(task)
        if self.row_task is not None and one is not None:
            registry.task(self.row_task)(self._row_task(one))
        return run

    def _row_task(self, one: Callable[[TaskContext, int], Any]) -> Callable[[TaskContext, dict[str, Any]], None]:
        """The task delivering one row: idempotent by outbox id (see `LeaseWorker._claim_next`).

        A failure that schedules a retry points the wake-up timer at it, so the sweeper publishes
        the retry on time (the row, not the broker, holds its backoff).
        """
        def deliver_row(ctx: TaskContext, payload: dict[str, Any]) -> None:
            report = one(ctx, int(payload["outbox_id"]))
            if getattr(report, "retrying", None) or getattr(report, "lost", None):
                grace = ctx.services.get(SWEEP_GRACE_SERVICE) or self.sweep_grace
                rearm(ctx, schedule=self.schedule, next_due=lambda s: self.sweep_due(s, grace),
                      heartbeat=self.heartbeat, follow_work=True)

        deliver_row.__name__ = deliver_row.__qualname__ = (self.row_task or "").replace(".", "_")
        return deliver_row

    def _sweep(self, ctx: TaskContext, relay: Any, worker: RowWorker, limit: int, grace: timedelta) -> int:
        """Publish a row task for every orphaned row, and relay this queue's pending row messages."""
        assert self.row_task is not None
        orphans = worker.orphans(grace, limit=max(limit, 50))
        with ctx.sessions() as session, session.begin():
            for row_id in orphans:
                enqueue(session, self.row_task, {"outbox_id": row_id}, clock=ctx.clock)
        with ctx.sessions() as session:
            waiting = list(session.scalars(select(TaskMessage.id).where(
                TaskMessage.task == self.row_task, TaskMessage.status == "pending").order_by(TaskMessage.id)
                .limit(1000)))
        if waiting:
            relay.relay(ids=waiting)
        return len(orphans)

    def sweep_due(self, session: Session, grace: timedelta | None = None) -> datetime | None:
        """When the sweeper next has work: a retry, a new row's grace running out, or a lease expiring."""
        t, m = self.table, self.table.model
        retry = session.scalar(select(func.min(m.next_attempt_at)).where(m.status == t.retrying))
        fresh = session.scalar(select(func.min(m.next_attempt_at)).where(m.status == t.pending))
        leased = session.scalar(select(func.min(m.lease_until)).where(m.status == t.in_flight))
        times = (retry, None if fresh is None else fresh + (grace or self.sweep_grace), leased)
        return min((when for when in times if when is not None), default=None)

    def _publish_row(self, session: Session, row_id: int, clock: Clock) -> None:
        if self.row_task is not None:
            enqueue(session, self.row_task, {"outbox_id": row_id}, clock=clock)

    # -- rows ---------------------------------------------------------------------

    def is_waiting(self, status: str) -> bool:
        return status in self.table.waiting

    def about(self, session: Session, subject: str) -> list[Any]:
        """Every row about `subject` (e.g. "case:12"), oldest first."""
        model = self.table.model
        return list(session.scalars(select(model).where(self.table.column(self.table.subject) == subject)
                                    .order_by(model.id)))

    def get(self, session: Session, row_id: int) -> Any:
        row = session.get(self.table.model, row_id)
        if row is None:
            raise NotFound(f"There is no {self.label} {row_id}.")
        return row

    def add(self, session: Session, values: Mapping[str, Any], *, key: str, actor: str, clock: Clock,
            audit_action: str, audit_details: Callable[[Any], dict[str, Any]], same: Callable[[Any], bool],
            describe: Callable[[Any], str]) -> Any:
        """Add a row in the caller's transaction (the caller commits), unless `key` already has one.

        A new row is audited (`audit_action`, `audit_details(row)`) and wakes the worker. An
        existing row with the same key is returned when `same(row)` says it is the same
        thing (first wins); otherwise `Conflict`, naming it by `describe(row)`.
        """
        now = clock.now()
        row_values = {**values, "idempotency_key": key, "status": self.table.pending, "attempts": 0,
                      "next_attempt_at": now, "leased_by": "", "last_error": "", "created_by": actor[:200],
                      "created_at": now, "updated_at": now}
        model = self.table.model
        new_id = session.execute(self.table.insert_unless_key_exists(session, row_values)).scalar_one_or_none()
        if new_id is None:
            row = session.scalars(select(model).where(model.idempotency_key == key)).one()
            if not same(row):
                raise Conflict(f"Idempotency key {key} already belongs to {self.label} {row.id} ({describe(row)}); "
                               f"derive keys from {self.keys_from}.")
            return row
        row = session.get_one(model, new_id)
        audit.record(session, actor=actor, action=audit_action, subject=getattr(row, self.table.subject),
                     clock=clock, details={self.id_detail: row.id, **audit_details(row)})
        self.schedule(session, clock=clock)
        self._publish_row(session, row.id, clock)
        return row

    def requeue(self, session: Session, row_id: int, *, actor: str, clock: Clock,
                audit_details: Callable[[Any], dict[str, Any]], verb: str = "requeued") -> Any:
        """Put a dead row back in the queue with a fresh set of attempts (an operator's call, audited).

        It keeps its idempotency key, so a receiver that did get an earlier attempt can tell.
        """
        requeued = self.table.requeue_dead(session, row_id, clock.now())
        row = session.get(self.table.model, row_id, populate_existing=True)
        if row is None:
            raise NotFound(f"There is no {self.label} {row_id}.")
        if not requeued:
            raise Conflict(f"{self.label.capitalize()} {row_id} is {row.status}; only dead {self.label}s can be "
                           f"{verb}.")
        audit.record(session, actor=actor, action=f"{self.noun}.requeue", subject=getattr(row, self.table.subject),
                     clock=clock, details={self.id_detail: row.id, **audit_details(row),
                                           "previous_error": row.last_error[:500]})
        self.schedule(session, clock=clock)
        self._publish_row(session, row.id, clock)
        return row
