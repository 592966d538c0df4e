"""Enforcement actions (takedown, suspension, preservation, webhooks) through a transactional outbox.

A reviewer's decision calls `enqueue` in its own transaction, so the decision and the
action commit together. The `Deliverer` (run as the `actions.deliver` task by the
ticker or an executor) claims due rows, calls the platform with each row's idempotency
key, retries transient failures with capped, jittered backoff and dead-letters
permanent ones. `actions_for` gives a case page the status of its actions;
`retry_dead` lets an operator requeue a dead one.
"""

from bastion.actions.delivery import (
    ConnectorFactory,
    Deliverer,
    DeliveryReport,
    next_due,
)
from bastion.actions.dispatch import WebhooksNotConfigured, perform
from bastion.actions.models import ActionKind, ActionStatus, OutboxAction
from bastion.actions.outbox import (
    ActionView,
    action_key,
    actions_for,
    enqueue,
    get_action,
    retry_dead,
)
from bastion.actions.policy import DeliveryPolicy
from bastion.actions.queue import DELIVER_TASK, schedule_delivery
from bastion.actions.tasks import (
    CONNECTOR_FACTORY,
    DELIVERY_POLICY,
    WEBHOOK_SENDER,
    ConnectorNotConfigured,
    run_delivery,
)
from bastion.actions.webhooks import HttpWebhookSender, WebhookSender

__all__ = [
    "CONNECTOR_FACTORY",
    "DELIVERY_POLICY",
    "DELIVER_TASK",
    "WEBHOOK_SENDER",
    "ActionKind",
    "ActionStatus",
    "ActionView",
    "ConnectorFactory",
    "ConnectorNotConfigured",
    "Deliverer",
    "DeliveryPolicy",
    "DeliveryReport",
    "HttpWebhookSender",
    "OutboxAction",
    "WebhookSender",
    "WebhooksNotConfigured",
    "action_key",
    "actions_for",
    "enqueue",
    "get_action",
    "next_due",
    "perform",
    "retry_dead",
    "run_delivery",
    "schedule_delivery",
]
