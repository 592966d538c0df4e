"""The `actions.deliver` task: the outbox drained by the ticker or any executor.

The task needs a platform connector factory in `TaskContext.services` under
`CONNECTOR_FACTORY` (and optionally a webhook sender and a policy). After a pass it
moves the shared wake-up timer to when the outbox next has work (or to a slow
heartbeat), so retries happen on time without polling and a missed wake-up heals itself.
"""

from __future__ import annotations

from bastion.actions.delivery import Deliverer, DeliveryReport
from bastion.actions.policy import DeliveryPolicy
from bastion.actions.queue import QUEUE
from bastion.executor import TaskContext

#: `TaskContext.services` keys the task reads.
CONNECTOR_FACTORY = "platform.connector_factory"
WEBHOOK_SENDER = "actions.webhooks"
DELIVERY_POLICY = "actions.policy"

#: The longest the outbox goes unchecked when nothing is due.
HEARTBEAT = QUEUE.heartbeat


class ConnectorNotConfigured(RuntimeError):
    """No connector factory in the task context: the app has not wired actions up."""


def _deliver(ctx: TaskContext, limit: int) -> DeliveryReport:
    factory = ctx.services.get(CONNECTOR_FACTORY)
    if factory is None:
        raise ConnectorNotConfigured(
            f"put a PlatformConnector factory in TaskContext.services[{CONNECTOR_FACTORY!r}] to deliver actions"
        )
    policy = ctx.services.get(DELIVERY_POLICY) or DeliveryPolicy()
    deliverer = Deliverer(ctx.sessions, factory, ctx.clock, webhooks=ctx.services.get(WEBHOOK_SENDER), policy=policy)
    return deliverer.deliver_due(limit)


#: One delivery pass with what the context provides, then re-arm the wake-up timer (even when the
#: pass fails: no connector configured, database trouble). Registered as the `actions.deliver` task.
run_delivery = QUEUE.register(_deliver)
