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

from pydantic import ValidationError
from sqlalchemy.orm import Session

from bastion.actions.models import ActionKind, OutboxAction
from bastion.actions.queue import QUEUE
from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.platform import AccountNotice
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
        waiting = QUEUE.is_waiting(row.status)
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

    Payloads by kind: remove_content, restore_content and lift_restriction `{"reason"}`;
    restrict_account `{"restriction": "suspend"|"limit", "reason"}`; preserve_account `{}`;
    notify_account: a `bastion.platform.AccountNotice` as JSON; webhook: the JSON body, with
    `target` naming a configured endpoint (never a URL, so a row cannot aim anywhere).
    Without `idempotency_key`, one is derived with `action_key`. The same key again
    returns the existing row (first decision wins); the same key for a different action
    raises `Conflict`.
    """
    kind = _check_kind(kind)
    body = _check_payload(kind, payload or {})
    target, subject = _check_text("target", target, _MAX_TARGET), _check_text("subject", subject, _MAX_SUBJECT)
    key = _check_key(idempotency_key or action_key(subject, kind, target, _variant(kind, body)))
    row: OutboxAction = QUEUE.add(
        session, {"kind": kind.value, "target": target, "payload": body, "subject": subject}, key=key, actor=actor,
        clock=clock, audit_action="action.enqueue",
        audit_details=lambda row: {"kind": kind.value, "target": target, "idempotency_key": key,
                                   **{k: body[k] for k in ("reason", "restriction") if k in body}},
        same=lambda row: (row.kind, row.target, row.subject) == (kind.value, target, subject),
        describe=lambda row: f"{row.kind} {row.target} for {row.subject}")
    return row


def actions_for(session: Session, subject: str) -> list[ActionView]:
    """Every action caused by `subject` (e.g. "case:12"), oldest first."""
    return [ActionView.of(row) for row in QUEUE.about(session, subject)]


def get_action(session: Session, action_id: int) -> ActionView:
    return ActionView.of(QUEUE.get(session, action_id))


def retry_dead(session: Session, action_id: int, *, actor: str, clock: Clock) -> OutboxAction:
    """Put a dead action back in the queue with a fresh set of attempts (an operator's call).

    It is resent with the same idempotency key, so if an earlier attempt did reach the
    platform the platform answers with its stored receipt instead of acting again.
    """
    row: OutboxAction = QUEUE.requeue(session, action_id, actor=actor, clock=clock, verb="retried",
                                      audit_details=lambda row: {"kind": row.kind, "target": row.target})
    return row


# -- helpers --------------------------------------------------------------------


def _variant(kind: ActionKind, payload: Mapping[str, Any]) -> str:
    """The part of the payload that makes a different action, not a different wording of one."""
    if kind is ActionKind.RESTRICT_ACCOUNT:
        return str(payload["restriction"])
    if kind is ActionKind.WEBHOOK:
        return json.dumps(payload, sort_keys=True, separators=(",", ":"))
    if kind is ActionKind.NOTIFY_ACCOUNT:
        return str(payload["reference"])  # each notice is its own message
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
    if kind is ActionKind.NOTIFY_ACCOUNT:
        try:
            return AccountNotice.model_validate(body).model_dump(mode="json")
        except ValidationError as exc:
            raise InvalidInput(f"A notify_account action carries a notice: {exc.errors()[0]['msg']}.") from None
    if kind in (ActionKind.REMOVE_CONTENT, ActionKind.RESTRICT_ACCOUNT, ActionKind.RESTORE_CONTENT,
                ActionKind.LIFT_RESTRICTION):
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
