"""Preservation: freeze the named accounts (platform snapshot + encrypted copy in the vault) until expiry.

A preservation request (or, with `legal.preserve_on_arrival`, any request) schedules the
`legal.preserve` task at once; the task calls `connector.preserve_account` with an idempotency
key derived from the request, keeps the snapshot in the vault under the instrument's retention
policy, and puts the expiry and a reminder before it on the clock. Extensions follow the
catalogue: a fixed number of days (US 2703(f): +90, once) or a legal hold (EPOC-PR).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import timers
from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.executor import TaskContext, registry
from bastion.legal import clocks, notify, requests
from bastion.legal.catalogue import InstrumentRule, get_instrument
from bastion.legal.errors import WrongState
from bastion.legal.models import LegalRequest, Preservation
from bastion.legal.settings import PRESERVATION_REMINDER_DAYS, PRESERVE_ON_ARRIVAL
from bastion.legal.timeline import event, subject
from bastion.orgsettings import get_value

log = logging.getLogger(__name__)

PRESERVE_TASK = "legal.preserve"
EXPIRY_TASK = "legal.preservation_expiry"
REMINDER_TASK = "legal.preservation_reminder"
CONNECTOR_FACTORY = "platform.connector_factory"  # same key as bastion.actions.tasks
VAULT_SERVICE = "evidence.vault"
DEFAULT_RULE = {"days": 90, "retention_policy": "legal_request_preservation", "extension": {"type": "hold"}}


def rule_for(rule: InstrumentRule) -> dict[str, Any]:
    return rule.preservation or DEFAULT_RULE


def preservations_of(session: Session, request_id: int) -> list[Preservation]:
    return list(session.scalars(select(Preservation).where(Preservation.request_id == request_id)
                                .order_by(Preservation.id)))


def on_arrival(session: Session, request: LegalRequest, rule: InstrumentRule, *, actor: str, clock: Clock) -> int:
    """Queue preservation of every resolved account not yet preserved; returns how many were queued."""
    wanted = rule.kind == "preservation" or bool(get_value(session, PRESERVE_ON_ARRIVAL))
    if not wanted or requests.is_closed(request):
        return 0
    if request.verification == "held":
        event(session, request, actor="bastion", kind="preservation_skipped", clock=clock,
              text="Not preserved: the sender is not verified (held requests are never acted on).")
        return 0
    existing = {p.account_id for p in preservations_of(session, request.id)}
    queued = 0
    for account_id in requests.resolved_accounts(session, request.id):
        if account_id in existing:
            continue
        session.add(Preservation(request_id=request.id, account_id=account_id, status="pending"))
        queued += 1
    if queued:
        session.flush()
        timers.schedule(session, kind=PRESERVE_TASK, due_at=clock.now(), clock=clock, subject=subject(request),
                        payload={"request_id": request.id}, dedupe_key=f"legal:{request.id}:preserve")
        event(session, request, actor=actor, kind="preservation_queued", clock=clock,
              text=f"Preservation of {queued} account(s) queued")
    return queued


def run_preservation(sessions: Any, request_id: int, *, connector: Any, vault: Any, clock: Clock) -> list[str]:
    """Preserve every pending account of the request, each in its own transaction; returns the errors."""
    from bastion.platform import PlatformError

    errors: list[str] = []
    with sessions() as session:
        pending = [p.id for p in preservations_of(session, request_id) if p.status in ("pending", "failed")]
    for preservation_id in pending:
        with sessions() as session, session.begin():
            row = session.get(Preservation, preservation_id, with_for_update=True)
            request = session.get(LegalRequest, request_id)
            if row is None or request is None or row.status not in ("pending", "failed"):
                continue
            try:
                snapshot = connector.preserve_account(row.account_id, f"legal-preserve-{request.id}-{row.account_id}")
            except PlatformError as exc:
                row.status, row.last_error = "failed", str(exc)[:2000]
                event(session, request, actor="bastion", kind="preservation_failed", clock=clock,
                      text=f"Preserving {row.account_id} failed: {exc}; retrying.")
                errors.append(f"{row.account_id}: {exc}")
                continue
            _keep(session, request, row, snapshot, vault=vault, clock=clock)
    with sessions() as session, session.begin():
        request = session.get(LegalRequest, request_id)
        if request is not None:
            _settle(session, request, clock=clock)
    return errors


def _keep(session: Session, request: LegalRequest, row: Preservation, snapshot: Any, *, vault: Any, clock: Clock) -> None:
    spec = rule_for(get_instrument(session, request.instrument_key))
    data = json.dumps(snapshot.model_dump(mode="json"), sort_keys=True, indent=1).encode()
    item = vault.preserve(session, data, kind="account_snapshot", subject=subject(request), actor="bastion",
                          reason=f"preservation for legal request {request.reference}",
                          metadata={"account_id": row.account_id, "preservation_id": snapshot.preservation_id,
                                    "preserved_at": snapshot.preserved_at},
                          context={"request": request.reference, "instrument": request.instrument_key})
    vault.apply_retention(session, item.id, spec["retention_policy"], from_time=request.received_at, actor="bastion",
                          reason=f"preservation period of {request.reference}")
    row.status, row.platform_reference, row.evidence_id = "preserved", snapshot.preservation_id, item.id
    row.retention_policy, row.preserved_at = spec["retention_policy"], clock.now()
    row.expires_at, row.last_error = request.received_at + timedelta(days=int(spec["days"])), ""
    _schedule_expiry(session, request, row, clock=clock)
    event(session, request, actor="bastion", kind="preserved", clock=clock,
          text=f"Account {row.account_id} preserved (platform reference {snapshot.preservation_id}, evidence {item.id}) "
               f"until {row.expires_at:%Y-%m-%d}",
          details={"account_id": row.account_id, "evidence": item.id, "expires_at": row.expires_at})


def _schedule_expiry(session: Session, request: LegalRequest, row: Preservation, *, clock: Clock) -> None:
    assert row.expires_at is not None
    days = int(get_value(session, PRESERVATION_REMINDER_DAYS))
    remind_at = row.expires_at - timedelta(days=days)
    if remind_at > clock.now():
        timers.schedule(session, kind=REMINDER_TASK, due_at=remind_at, clock=clock, subject=subject(request),
                        payload={"preservation_id": row.id}, dedupe_key=f"legal:preservation:{row.id}:reminder")
    timers.schedule(session, kind=EXPIRY_TASK, due_at=row.expires_at, clock=clock, subject=subject(request),
                    payload={"preservation_id": row.id}, dedupe_key=f"legal:preservation:{row.id}:expiry")


def _settle(session: Session, request: LegalRequest, *, clock: Clock) -> None:
    """A preservation request is answered once every account is preserved."""
    rule = get_instrument(session, request.instrument_key)
    rows = preservations_of(session, request.id)
    if rule.kind != "preservation" or not rows or request.answered_at is not None:
        return
    if all(r.status == "preserved" for r in rows):
        until = min(r.expires_at for r in rows if r.expires_at)
        request.status = "preserved"
        clocks.note_answered(session, request, actor="bastion", clock=clock,
                             text=f"All {len(rows)} account(s) preserved until {until:%Y-%m-%d}.")
        refs = ", ".join(f"{r.account_id}: {r.platform_reference}" for r in rows)
        notify.requester(session, request, actor="bastion", clock=clock, subject=f"{request.reference}: preserved",
                         text=f"The accounts named in {request.reference} are preserved until {until:%Y-%m-%d} "
                              f"({refs}). Quote these references in your follow-up legal process.",
                         kind="preservation_confirmed")


def extend(session: Session, request: LegalRequest, *, actor: str, clock: Clock, vault: Any, reason: str) -> list[Preservation]:
    """A renewed request extends every live preservation, as the catalogue allows; filed before expiry only."""
    if not reason.strip():
        raise InvalidInput("Say what the extension rests on (e.g. the renewed request's date and reference).")
    spec = rule_for(get_instrument(session, request.instrument_key))
    extension = spec.get("extension") or {}
    rows = [r for r in preservations_of(session, request.id) if r.status == "preserved"]
    if not rows:
        raise WrongState(f"{request.reference} has no live preservation to extend.")
    now = clock.now()
    for row in rows:
        assert row.expires_at is not None
        if row.expires_at <= now:
            raise WrongState(f"The preservation of {row.account_id} expired on {row.expires_at:%Y-%m-%d}; "
                             "extensions must be filed before expiry.")
        if extension.get("type") == "days":
            if row.extensions >= int(extension.get("max", 1)):
                raise WrongState(f"{row.account_id} was already extended {row.extensions} time(s), the most the "
                                 f"catalogue allows ({extension.get('note', '')}).")
            old = row.expires_at
            row.expires_at = old + timedelta(days=int(extension["days"]))
            row.extensions += 1
            if row.evidence_id is not None:
                vault.apply_retention(session, row.evidence_id, row.retention_policy, from_time=old, actor=actor,
                                      reason=f"extension of {request.reference}: {reason}")
            _schedule_expiry(session, request, row, clock=clock)
            text = f"Preservation of {row.account_id} extended to {row.expires_at:%Y-%m-%d}"
        elif extension.get("type") == "hold":
            hold = vault.place_hold(session, subject=subject(request), reason=f"{request.reference}: {reason}",
                                    actor=actor, reference=request.reference)
            row.status, row.hold_id, row.extensions = "held", hold.id, row.extensions + 1
            timers.cancel(session, subject=subject(request), kind=EXPIRY_TASK)
            timers.cancel(session, subject=subject(request), kind=REMINDER_TASK)
            text = f"Preservation of {row.account_id} kept under legal hold {hold.id} until released"
        else:
            raise WrongState(f"{request.instrument_key} allows no extension.")
        event(session, request, actor=actor, kind="preservation_extended", clock=clock, text=f"{text}. {reason}",
              details={"account_id": row.account_id, "expires_at": row.expires_at, "extensions": row.extensions})
    return rows


def release(session: Session, request: LegalRequest, *, actor: str, clock: Clock, vault: Any, reason: str) -> None:
    """End holds placed by extensions (e.g. the production request was answered)."""
    for row in preservations_of(session, request.id):
        if row.status == "held" and row.hold_id is not None:
            vault.release_hold(session, row.hold_id, reason=reason, actor=actor)
            row.status = "released"
            event(session, request, actor=actor, kind="preservation_released", clock=clock,
                  text=f"Hold on {row.account_id} released: {reason}")


@registry.task(PRESERVE_TASK)
def preserve_task(ctx: TaskContext, payload: dict[str, Any]) -> None:
    factory, vault = ctx.services.get(CONNECTOR_FACTORY), ctx.services.get(VAULT_SERVICE)
    if factory is None or vault is None:
        raise RuntimeError(f"legal.preserve needs {CONNECTOR_FACTORY!r} and {VAULT_SERVICE!r} in the task services")
    connector = factory()
    try:
        errors = run_preservation(ctx.sessions, int(payload["request_id"]), connector=connector, vault=vault,
                                  clock=ctx.clock)
    finally:
        close = getattr(connector, "close", None)
        if close is not None:
            close()
    if errors:
        raise RuntimeError("; ".join(errors))  # the ticker retries with backoff


@registry.task(REMINDER_TASK)
def preservation_reminder(ctx: TaskContext, payload: dict[str, Any]) -> None:
    with ctx.sessions() as session, session.begin():
        row = session.get(Preservation, int(payload["preservation_id"]))
        if row is None or row.status != "preserved" or row.expires_at is None:
            return
        request = session.get(LegalRequest, row.request_id)
        assert request is not None
        notify.staff(session, request, to=[clocks.assignee_address(session, request)], kind="preservation_reminder",
                     clock=ctx.clock, subject=f"Preservation expiring: {request.reference}",
                     text=f"The preservation of {row.account_id} for {request.reference} expires on "
                          f"{row.expires_at:%Y-%m-%d %H:%M} UTC. Extensions must be filed before then.")


@registry.task(EXPIRY_TASK)
def preservation_expired(ctx: TaskContext, payload: dict[str, Any]) -> None:
    with ctx.sessions() as session, session.begin():
        row = session.get(Preservation, int(payload["preservation_id"]))
        if row is None or row.status != "preserved" or row.expires_at is None or row.expires_at > ctx.clock.now():
            return
        request = session.get(LegalRequest, row.request_id)
        assert request is not None
        row.status = "expired"
        event(session, request, actor="bastion", kind="preservation_expired", clock=ctx.clock,
              text=f"The preservation of {row.account_id} expired; its snapshot follows its retention policy.")
        rows = preservations_of(session, request.id)
        if request.status == "preserved" and all(r.status in ("expired", "released") for r in rows):
            requests.close(session, request, actor="bastion", clock=ctx.clock, status="expired",
                         text="Every preservation expired without extension.")
