"""Writing actions into the outbox and reading their status back.

`enqueue` runs inside the caller's transaction: the reviewer's decision and the action
it causes commit together or not at all, and nothing leaves the system until a worker
picks the committed row up. The idempotency key is unique, so replaying a decision
(a double click, a retried request) finds the existing row instead of adding one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.actions.delivery import TABLE
from bastion.actions.models import ActionKind, ActionStatus, OutboxAction
from bastion.actions.scheduling import schedule_delivery
from bastion.clock import Clock
from bastion.errors import Conflict, InvalidInput, NotFound
from bastion.platform.signing import derive_idempotency_key, validate_idempotency_key

RESTRICTIONS = ("suspend", "limit")
_MAX_TARGET = 255
_MAX_SUBJECT = 300


@dataclass(frozen=True)
class ActionView:
    """What a case page shows about one action; detached from the session and the table."""

    id: int
    kind: str
    target: str
    subject: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    result: dict[str, Any] | None
    idempotency_key: str
    created_by: str
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, row: OutboxAction) -> ActionView:
        waiting = row.status in (ActionStatus.PENDING, ActionStatus.FAILED_RETRYING)
        return cls(
            id=row.id, kind=row.kind, target=row.target, subject=row.subject, status=row.status,
            attempts=row.attempts, next_attempt_at=row.next_attempt_at if waiting else None,
            last_error=row.last_error, result=row.result, idempotency_key=row.idempotency_key,
            created_by=row.created_by, created_at=row.created_at, finished_at=row.finished_at,
        )


def action_key(subject: str, kind: ActionKind | str, target: str, variant: str = "") -> str:
    """The deterministic idempotency key of "do `kind` to `target` because of `subject`".

    Derived only from durable identifiers, so every retry of the same decision, in any
    process, produces the same key. `variant` separates actions that differ in more than
    kind and target (a suspension after an earlier limit is a new action).
    """
    return derive_idempotency_key("bastion-action", subject, str(kind), target, variant)


def enqueue(
    session: Session,
    *,
    kind: ActionKind | str,
    target: str,
    payload: Mapping[str, Any] | None = None,
    subject: str,
    actor: str,
    clock: Clock,
    idempotency_key: str | None = None,
) -> OutboxAction:
    """Add an action to the outbox in the caller's transaction (the caller commits).

    Payloads by kind: remove_content `{"reason"}`; restrict_account `{"restriction":
    "suspend"|"limit", "reason"}`; preserve_account `{}`; webhook: the JSON body, with
    `target` naming a configured endpoint (never a URL, so a row cannot aim anywhere).
    Without `idempotency_key`, one is derived with `action_key`. The same key again
    returns the existing row (first decision wins); the same key for a different action
    raises `Conflict`.
    """
    kind = _check_kind(kind)
    body = _check_payload(kind, payload or {})
    target, subject = _check_text("target", target, _MAX_TARGET), _check_text("subject", subject, _MAX_SUBJECT)
    key = _check_key(idempotency_key or action_key(subject, kind, target, _variant(kind, body)))
    now = clock.now()
    values: dict[str, Any] = {
        "kind": kind.value, "target": target, "payload": body, "idempotency_key": key, "subject": subject,
        "status": ActionStatus.PENDING.value, "attempts": 0, "next_attempt_at": now, "leased_by": "",
        "last_error": "", "created_by": actor[:200], "created_at": now, "updated_at": now,
    }
    new_id = session.execute(TABLE.insert_unless_key_exists(session, values)).scalar_one_or_none()
    if new_id is None:
        return _existing(session, key, kind, target, subject)
    row = session.get_one(OutboxAction, new_id)
    audit.record(session, actor=actor, action="action.enqueue", subject=subject, clock=clock,
                 details={"action_id": row.id, "kind": kind.value, "target": target, "idempotency_key": key,
                          **{k: body[k] for k in ("reason", "restriction") if k in body}})
    schedule_delivery(session, clock=clock)
    return row


def actions_for(session: Session, subject: str) -> list[ActionView]:
    """Every action caused by `subject` (e.g. "case:12"), oldest first."""
    rows = session.scalars(select(OutboxAction).where(OutboxAction.subject == subject).order_by(OutboxAction.id))
    return [ActionView.of(row) for row in rows]


def get_action(session: Session, action_id: int) -> ActionView:
    row = session.get(OutboxAction, action_id)
    if row is None:
        raise NotFound(f"There is no action {action_id}.")
    return ActionView.of(row)


def retry_dead(session: Session, action_id: int, *, actor: str, clock: Clock) -> OutboxAction:
    """Put a dead action back in the queue with a fresh set of attempts (an operator's call).

    It is resent with the same idempotency key, so if an earlier attempt did reach the
    platform the platform answers with its stored receipt instead of acting again.
    """
    now = clock.now()
    requeued = TABLE.requeue_dead(session, action_id, now)
    row = session.get(OutboxAction, action_id, populate_existing=True)
    if row is None:
        raise NotFound(f"There is no action {action_id}.")
    if not requeued:
        raise Conflict(f"Action {action_id} is {row.status}; only dead actions can be retried.")
    audit.record(session, actor=actor, action="action.requeue", subject=row.subject, clock=clock,
                 details={"action_id": row.id, "kind": row.kind, "target": row.target,
                          "previous_error": row.last_error[:500]})
    schedule_delivery(session, clock=clock)
    return row


# -- helpers --------------------------------------------------------------------


def _existing(session: Session, key: str, kind: ActionKind, target: str, subject: str) -> OutboxAction:
    row = session.scalars(select(OutboxAction).where(OutboxAction.idempotency_key == key)).one()
    if (row.kind, row.target, row.subject) != (kind.value, target, subject):
        raise Conflict(
            f"Idempotency key {key} already belongs to action {row.id} ({row.kind} {row.target} for "
            f"{row.subject}); derive keys from the decision they carry out."
        )
    return row


def _variant(kind: ActionKind, payload: Mapping[str, Any]) -> str:
    """The part of the payload that makes a different action, not a different wording of one."""
    if kind is ActionKind.RESTRICT_ACCOUNT:
        return str(payload["restriction"])
    if kind is ActionKind.WEBHOOK:
        return json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return ""


def _check_kind(kind: ActionKind | str) -> ActionKind:
    try:
        return ActionKind(kind)
    except ValueError:
        raise InvalidInput(f"Unknown action kind {kind!r}; use one of {', '.join(k.value for k in ActionKind)}.") from None


def _check_payload(kind: ActionKind, payload: Mapping[str, Any]) -> dict[str, Any]:
    try:
        body: dict[str, Any] = json.loads(json.dumps(dict(payload), allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"An action's payload must be plain JSON: {exc}.") from None
    if kind in (ActionKind.REMOVE_CONTENT, ActionKind.RESTRICT_ACCOUNT):
        reason = body.get("reason")
        if not isinstance(reason, str) or not reason.strip() or len(reason) > 500:
            raise InvalidInput(f"A {kind.value} action needs a short 'reason' for the platform.")
    if kind is ActionKind.RESTRICT_ACCOUNT and body.get("restriction") not in RESTRICTIONS:
        raise InvalidInput("A restrict_account action needs 'restriction': 'suspend' or 'limit'.")
    return body


def _check_text(name: str, value: str, limit: int) -> str:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidInput(f"An action's {name} must be 1 to {limit} characters.")
    return value


def _check_key(key: str) -> str:
    try:
        return validate_idempotency_key(key)
    except ValueError:
        raise InvalidInput(
            "An idempotency key is 1-255 of A-Z a-z 0-9 . _ : - (see bastion.actions.action_key)."
        ) from None
