"""The actions outbox's tasks: `actions.deliver_row` delivers one action by outbox id; `actions.deliver` sweeps.

`actions.deliver_row` is published (through the task outbox, queue `deliver`) for every action
added or requeued; it claims that row under the outbox lease and delivers it once. The
`actions.deliver` timer task publishes the row task again for retries that are due, expired
leases and messages presumed lost (`bastion.outbox.Queue.register`); with no relay wired (a bare
task context) it delivers a pass itself. Both need a platform connector factory in
`TaskContext.services` under `CONNECTOR_FACTORY` (and optionally a webhook sender and a policy).
"""

from __future__ import annotations

import logging

from bastion.actions.delivery import Deliverer, DeliveryReport
from bastion.actions.policy import DeliveryPolicy
from bastion.actions.queue import QUEUE
from bastion.executor import TaskContext
from bastion.outbox import SWEEP_GRACE_SERVICE

log = logging.getLogger(__name__)

#: `TaskContext.services` keys the task reads (and `SWEEP_GRACE_SERVICE`, shared by every outbox sweeper).
__all__ = ["CONNECTOR_FACTORY", "DELIVERY_POLICY", "SWEEP_GRACE_SERVICE", "WEBHOOK_SENDER", "ConnectorNotConfigured",
           "run_delivery"]
CONNECTOR_FACTORY = "platform.connector_factory"
WEBHOOK_SENDER = "actions.webhooks"
DELIVERY_POLICY = "actions.policy"

#: The longest the outbox goes unchecked when nothing is due.
HEARTBEAT = QUEUE.heartbeat


class ConnectorNotConfigured(RuntimeError):
    """No connector factory in the task context: the app has not wired actions up."""


def _deliverer(ctx: TaskContext) -> Deliverer:
    factory = ctx.services.get(CONNECTOR_FACTORY)
    if factory is None:
        raise ConnectorNotConfigured(
            f"put a PlatformConnector factory in TaskContext.services[{CONNECTOR_FACTORY!r}] to deliver actions"
        )
    policy = ctx.services.get(DELIVERY_POLICY) or DeliveryPolicy()
    return Deliverer(ctx.sessions, factory, ctx.clock, webhooks=ctx.services.get(WEBHOOK_SENDER), policy=policy)


def _deliver(ctx: TaskContext, limit: int) -> DeliveryReport:
    return _deliverer(ctx).deliver_due(limit)


def _deliver_one(ctx: TaskContext, action_id: int) -> DeliveryReport:
    if ctx.services.get(CONNECTOR_FACTORY) is None:  # not wired here: the row waits; the sweeper publishes it again
        log.warning("no platform connector: action left for the sweeper", extra={"action": action_id})
        return DeliveryReport()
    return _deliverer(ctx).deliver_one(action_id)


#: The `actions.deliver` timer task: a sweeper where a relay is wired, else one delivery pass, then
#: re-arm the wake-up timer (even when it fails: no connector configured, database trouble). Also
#: registers `actions.deliver_row`, the task each action's outbox id is published as (queue `deliver`).
run_delivery = QUEUE.register(_deliver, one=_deliver_one, worker=_deliverer)
