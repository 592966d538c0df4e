"""Removal orders act: the named content is taken down through the outbox, confirmed, preserved, reported.

A removal order (IT Rules 2021 Rule 3(1)(d): 36 hours; an order under DSA Art. 9) is decided
"remove" and approved by a second person like a disclosure, and only once its sender is
verified. Approval calls `start`, in the approver's transaction: one `remove_content` action
per named post goes into the actions outbox (idempotency key from the request and the post), so
nothing is sent from the request handler and a retried approval adds nothing.

The `legal.removal_sync` task follows those actions. When the platform confirms a removal, its
receipt (and the platform's time) is recorded; when every named post is confirmed removed:

* the desk clock stops (the request is answered when the content is down, not when we asked);
* what was removed is preserved under the catalogue's removal rule (India: Rule 3(1)(g),
  180 days): the authors' accounts are frozen on the platform and the posts (metadata and
  media, which the platform keeps serving to Bastion after removal) are copied into the vault,
  under a legal hold while the preservation runs;
* the issuing authority is told the effect, by mail through the outbox and in the portal, as
  DSA Art. 9(1) requires ("if and when" effect was given).

A removal the platform refuses permanently (a dead action) is escalated to staff; the clock
keeps running until staff retry it (`retry`) or answer otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import timers
from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.executor import TaskContext, registry
from bastion.legal import clocks, notify, preservation, requests, rules
from bastion.legal.catalogue import get_instrument
from bastion.legal.errors import WrongState
from bastion.legal.models import LegalRequest, Removal
from bastion.legal.timeline import event, subject

SYNC_TASK = "legal.removal_sync"
#: How soon the sync looks again while removals are still on their way.
SYNC_INTERVAL = timedelta(seconds=15)
VAULT_SERVICE = "evidence.vault"
DEFAULT_REASON = "legal_removal_order"
#: India Standard Time, for the authority's copy of the report (a fixed offset: IST has no daylight saving).
IST_OFFSET = timedelta(hours=5, minutes=30)


def removals_of(session: Session, request_id: int) -> list[Removal]:
    return list(session.scalars(select(Removal).where(Removal.request_id == request_id).order_by(Removal.id)))


def named_content(session: Session, request: LegalRequest) -> list[tuple[str, str, str]]:
    """(content id, author account id or "", as the request named it) for each post the order names."""
    seen: dict[str, tuple[str, str, str]] = {}
    for row in requests.accounts_of(session, request.id):
        if row.content_id and row.content_id not in seen:
            seen[row.content_id] = (row.content_id, row.account_id, row.value)
    return list(seen.values())


def check_decidable(session: Session, request: LegalRequest) -> None:
    """A "remove" decision needs a removal instrument and at least one named post."""
    rule = get_instrument(session, request.instrument_key)
    if rule.kind != "removal":
        raise InvalidInput(f"{rule.title} is not a removal order; only a removal order is decided 'remove'.")
    if not named_content(session, request):
        raise InvalidInput("A removal order names the content to remove: add the posts' URLs to the request.")


def start(session: Session, request: LegalRequest, *, actor: str, clock: Clock) -> list[Removal]:
    """The approved order: one remove_content action per named post into the outbox (the caller commits)."""
    from bastion.actions import outbox

    check_decidable(session, request)
    spec = rules.removal_spec(session, request.instrument_key) or {}
    reason = f"{spec.get('reason', DEFAULT_REASON)}:{request.reference}"
    existing = {r.content_id for r in removals_of(session, request.id)}
    started = []
    for content_id, account_id, _named in named_content(session, request):
        if content_id in existing:
            continue
        action = outbox.enqueue(session, kind="remove_content", target=content_id, subject=subject(request),
                                payload={"reason": reason}, actor=actor, clock=clock)
        row = Removal(request_id=request.id, content_id=content_id, account_id=account_id, action_id=action.id,
                      status="queued", queued_at=clock.now())
        session.add(row)
        started.append(row)
    session.flush()
    _schedule_sync(session, request, clock=clock, at=clock.now())
    event(session, request, actor=actor, kind="removal_queued", clock=clock,
          text=f"Removal of {len(started)} item(s) sent to the platform through the outbox: "
               + ", ".join(r.content_id for r in started),
          details={"content": [r.content_id for r in started], "actions": [r.action_id for r in started]})
    return started


def _schedule_sync(session: Session, request: LegalRequest, *, clock: Clock, at: datetime) -> None:
    timers.schedule(session, kind=SYNC_TASK, due_at=at, clock=clock, subject=subject(request),
                    payload={"request_id": request.id}, dedupe_key=f"legal:{request.id}:removal_sync")


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def sync(session: Session, request: LegalRequest, *, clock: Clock, vault: Any = None) -> bool:
    """Record what the outbox learnt from the platform; True when nothing is on its way any more."""
    from bastion.actions import outbox
    from bastion.actions.models import ActionStatus

    actions = {a.id: a for a in outbox.actions_for(session, subject(request))}
    for row in removals_of(session, request.id):
        action = actions.get(row.action_id or 0)
        if row.status != "queued" or action is None:
            continue
        if action.status == ActionStatus.DELIVERED:
            receipt = action.result or {}
            row.status, row.outcome = "removed", str(receipt.get("outcome", ""))
            row.removed_at, row.confirmed_at = _when(receipt.get("performed_at")) or clock.now(), clock.now()
            event(session, request, actor="bastion", kind="removal_confirmed", clock=clock,
                  text=f"The platform confirmed {row.content_id} removed at {row.removed_at:%Y-%m-%d %H:%M} UTC"
                       + (" (it had already been removed)" if row.outcome == "no_change" else ""),
                  details={"content_id": row.content_id, "action": row.action_id, "receipt": receipt})
        elif action.status == ActionStatus.DEAD:
            row.status, row.last_error = "failed", action.last_error[:2000]
            event(session, request, actor="bastion", kind="removal_failed", clock=clock,
                  text=f"The platform refused to remove {row.content_id}: {action.last_error[:500]}. "
                       "Retry it from the request page, or answer the authority.",
                  details={"content_id": row.content_id, "action": row.action_id})
            notify.staff(session, request, to=[clocks.assignee_address(session, request)], kind="removal_escalated",
                         clock=clock, subject=f"Removal failed: {request.reference}",
                         text=f"The removal of {row.content_id} for {request.reference} was refused by the platform: "
                              f"{action.last_error[:500]}. The deadline keeps running.",
                         key=f"legal-request:{request.id}:removal-failed:{row.id}:{row.action_id}")
    rows = removals_of(session, request.id)
    if rows and all(r.status == "removed" for r in rows) and request.answered_at is None:
        _complete(session, request, rows, clock=clock, vault=vault)
    return not any(r.status == "queued" for r in rows)


def _complete(session: Session, request: LegalRequest, rows: list[Removal], *, clock: Clock, vault: Any) -> None:
    spec = rules.removal_spec(session, request.instrument_key) or {}
    last = max(r.removed_at for r in rows if r.removed_at)
    request.status = "removed"
    clocks.note_answered(session, request, actor="bastion", clock=clock,
                         text=f"Effect given: {len(rows)} item(s) removed on the platform, the last at "
                              f"{last:%Y-%m-%d %H:%M} UTC.")
    kept = _preserve(session, request, rows, spec.get("preserve"), clock=clock, vault=vault)
    _report(session, request, rows, spec, kept, clock=clock)


def _preserve(session: Session, request: LegalRequest, rows: list[Removal], preserve: dict[str, Any] | None, *,
              clock: Clock, vault: Any) -> dict[str, Any] | None:
    if not preserve:
        return None
    spec = {**preserve, "basis": preserve.get("basis") or "removal order"}
    accounts = sorted({r.account_id for r in rows if r.account_id})
    preservation.queue_removed(session, request, spec, accounts=accounts, actor="bastion", clock=clock, vault=vault)
    return spec


def _report(session: Session, request: LegalRequest, rows: list[Removal], spec: dict[str, Any],
            kept: dict[str, Any] | None, *, clock: Clock) -> None:
    """Tell the issuing authority if and when effect was given (DSA Art. 9(1)); mail and portal alike."""
    rule = get_instrument(session, request.instrument_key)
    named = {cid: value for cid, _, value in named_content(session, request)}
    lines = []
    for r in rows:
        assert r.removed_at is not None
        ist = r.removed_at + IST_OFFSET
        already = " (it had already been removed before the order arrived)" if r.outcome == "no_change" else ""
        lines.append(f"- {named.get(r.content_id, r.content_id)} (content {r.content_id}): removed from public view "
                     f"on {r.removed_at:%Y-%m-%d %H:%M} UTC ({ist:%d/%m/%Y %H:%M} IST){already}.")
    until = (clock.now() + timedelta(days=int(kept["days"]))) if kept else None
    preserved = (f"\nThe removed content and its associated records are preserved for {kept['days']} days, to "
                 f"{until:%Y-%m-%d} ({kept['basis']}). If you need them kept longer, tell us before then, with the "
                 "order or authority that requires it." if kept and until else "")
    text = (f"Effect given to your order {request.reference} ({rule.title}; {rule.citation})"
            + (f", your reference {request.case_number}" if request.case_number else "") + ":\n"
            + "\n".join(lines) + preserved
            + (f"\n\n{spec['report_effect']['note']}" if isinstance(spec.get("report_effect"), dict) else ""))
    notify.requester(session, request, actor="bastion", clock=clock, kind="removal_effect",
                     subject=f"{request.reference}: effect given to your removal order", text=text)


def retry(session: Session, request: LegalRequest, *, actor: str, clock: Clock) -> int:
    """Requeue the removals the platform refused (same idempotency keys); returns how many."""
    from bastion.actions import outbox

    failed = [r for r in removals_of(session, request.id) if r.status == "failed"]
    if not failed:
        raise WrongState(f"{request.reference} has no failed removal to retry.")
    for row in failed:
        outbox.retry_dead(session, int(row.action_id or 0), actor=actor, clock=clock)
        row.status, row.last_error = "queued", ""
    _schedule_sync(session, request, clock=clock, at=clock.now())
    event(session, request, actor=actor, kind="removal_retried", clock=clock,
          text=f"Removal of {', '.join(r.content_id for r in failed)} sent to the platform again")
    return len(failed)


@registry.task(SYNC_TASK)
def sync_task(ctx: TaskContext, payload: dict[str, Any]) -> None:
    with ctx.sessions() as session, session.begin():
        request = session.get(LegalRequest, int(payload["request_id"]))
        if request is None:
            return
        if not sync(session, request, clock=ctx.clock, vault=ctx.services.get(VAULT_SERVICE)):
            _schedule_sync(session, request, clock=ctx.clock, at=ctx.clock.now() + SYNC_INTERVAL)
