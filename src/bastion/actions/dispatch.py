"""The one place that knows which platform call carries which kind of action.

Keeping this mapping here keeps transport details out of the outbox table: a row says
"remove_content post-7", and only this function knows that means
`PlatformConnector.remove_content` (or a signed POST, for a webhook).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bastion.actions.models import ActionKind
from bastion.actions.webhooks import WebhookSender
from bastion.platform import AccountNotice, ActionResult, PlatformConnector, PreservationSnapshot


class WebhooksNotConfigured(RuntimeError):
    """This process has no webhook sender; the row is retried (and dead-lettered in the end) like an outage."""


def perform(
    connector: PlatformConnector,
    webhooks: WebhookSender | None,
    *,
    kind: str,
    target: str,
    payload: Mapping[str, Any],
    idempotency_key: str,
) -> dict[str, Any]:
    """Carry out one action and return the receipt to store as the row's result.

    Raises the connector's typed errors (`bastion.platform.errors`) unchanged: the
    deliverer decides retry versus dead letter from their types alone.
    """
    match ActionKind(kind):
        case ActionKind.REMOVE_CONTENT:
            return _receipt(connector.remove_content(target, payload["reason"], idempotency_key))
        case ActionKind.RESTRICT_ACCOUNT:
            return _receipt(
                connector.restrict_account(target, payload["restriction"], payload["reason"], idempotency_key)
            )
        case ActionKind.RESTORE_CONTENT:
            return _receipt(connector.restore_content(target, payload["reason"], idempotency_key))
        case ActionKind.LIFT_RESTRICTION:
            return _receipt(connector.lift_restriction(target, payload["reason"], idempotency_key))
        case ActionKind.NOTIFY_ACCOUNT:
            return _receipt(connector.notify_account(target, AccountNotice.model_validate(payload), idempotency_key))
        case ActionKind.PRESERVE_ACCOUNT:
            return _preservation(connector.preserve_account(target, idempotency_key))
        case ActionKind.WEBHOOK:
            if webhooks is None:
                raise WebhooksNotConfigured("no webhook sender is configured in this process")
            return webhooks.send(target, dict(payload), idempotency_key)


def _receipt(result: ActionResult) -> dict[str, Any]:
    return result.model_dump(mode="json")


def _preservation(snapshot: PreservationSnapshot) -> dict[str, Any]:
    """The snapshot's reference and size, not its contents.

    The snapshot holds subscriber data; it belongs in the evidence vault, collected for
    a legal request, not in an operational table. Calling `preserve_account` again with
    the row's idempotency key returns the same snapshot when it is needed.
    """
    return {
        "preservation_id": snapshot.preservation_id,
        "account_id": snapshot.account_id,
        "preserved_at": snapshot.preserved_at.isoformat(),
        "replayed": snapshot.replayed,
        "counts": {name: len(getattr(snapshot, name)) for name in ("posts", "logins", "devices", "locations", "hosting")},
    }
