"""The `actions.deliver` task: the outbox drained by the ticker or any executor.

The task needs a platform connector factory in `TaskContext.services` under
`CONNECTOR_FACTORY` (and optionally a webhook sender and a policy). After a pass it
moves the shared wake-up timer to when the outbox next has work (or to a slow
heartbeat), so retries happen on time without polling and a missed wake-up heals itself.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bastion.actions.delivery import Deliverer, DeliveryReport, next_due
from bastion.actions.policy import DeliveryPolicy
from bastion.actions.scheduling import DELIVER_TASK, schedule_delivery
from bastion.executor import TaskContext, registry

#: `TaskContext.services` keys the task reads.
CONNECTOR_FACTORY = "platform.connector_factory"
WEBHOOK_SENDER = "actions.webhooks"
DELIVERY_POLICY = "actions.policy"

#: The longest the outbox goes unchecked when nothing is due.
HEARTBEAT = timedelta(minutes=5)


class ConnectorNotConfigured(RuntimeError):
    """No connector factory in the task context: the app has not wired actions up."""


def run_delivery(ctx: TaskContext, limit: int = 50) -> DeliveryReport:
    """One delivery pass with what the context provides, then re-arm the wake-up timer.

    A pass that fails outright (no connector configured, database trouble) still re-arms,
    at the heartbeat rather than at the due work, so the outbox is never forgotten and a
    misconfigured process does not spin.
    """
    try:
        factory = ctx.services.get(CONNECTOR_FACTORY)
        if factory is None:
            raise ConnectorNotConfigured(
                f"put a PlatformConnector factory in TaskContext.services[{CONNECTOR_FACTORY!r}] to deliver actions"
            )
        policy = ctx.services.get(DELIVERY_POLICY) or DeliveryPolicy()
        deliverer = Deliverer(ctx.sessions, factory, ctx.clock, webhooks=ctx.services.get(WEBHOOK_SENDER),
                              policy=policy)
        report = deliverer.deliver_due(limit)
    except Exception:
        _rearm(ctx, follow_work=False)
        raise
    _rearm(ctx, follow_work=True)
    return report


@registry.task(DELIVER_TASK)
def deliver(ctx: TaskContext, payload: dict[str, Any]) -> None:
    """Registered task; payload may carry `limit`."""
    run_delivery(ctx, limit=int(payload.get("limit", 50)))


def _rearm(ctx: TaskContext, *, follow_work: bool) -> None:
    """Point the wake-up timer at the next due work (or only at the heartbeat).

    The timer row is written (and so locked) before the outbox is read: an enqueue that
    commits meanwhile either is seen by the read, or moves the timer to "now" after us.
    """
    now = ctx.clock.now()
    with ctx.sessions() as session, session.begin():
        timer = schedule_delivery(session, clock=ctx.clock, at=now + HEARTBEAT)
        if not follow_work:
            return
        session.flush()
        due = next_due(session)
        if due is not None and due < timer.due_at:
            timer.due_at = max(due, now)
