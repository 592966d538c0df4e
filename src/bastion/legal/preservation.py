"""Preservation: freeze the named accounts and posts (platform snapshot + encrypted copies in the vault).

Any request can be preserved: staff press "preserve now" (`preserve_now`), and a preservation
instrument (or every request, with `legal.preserve_on_arrival`) is preserved on arrival
(`on_arrival`). Either way the `legal.preserve` task first resolves the authors of named posts,
then calls `connector.preserve_account` for every account (idempotency key from the request),
keeps each snapshot and each named post (metadata and media) in the vault, and keeps all of it
under one legal hold on the request's evidence while the preservation is live.

How long it runs is data: the instrument's own rule (US 2703(f), EPOC-PR), else the catalogue's
rule for the jurisdiction (`bastion.legal.rules`: India 180 days under IT Rules 2021 Rule
3(1)(g), (h)), counted from the moment the platform froze the data. The rule is copied onto the
row when it is queued, so a later catalogue edit never shortens a running preservation.
Extensions follow the rule: a fixed number of days (US: +90, once), a legal hold until released
(EPOC-PR), or "as requested" (India: longer when a court or authorised agency requires it,
recorded with who asked, on what authority and until when). At expiry the hold is released and
the vault's retention takes over.

A preservation is described by `describe`, which never calls an expired one "preserved until".
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import timers
from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.executor import TaskContext, registry
from bastion.legal import authors, clocks, notify, requests, rules
from bastion.legal.catalogue import InstrumentRule, get_instrument
from bastion.legal.errors import RequestHeld, WrongState
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
#: Rows whose preservation is still running (or about to): they keep the request's legal hold.
LIVE = ("pending", "failed", "preserved", "held")


def spec_for(session: Session, request: LegalRequest, rule: InstrumentRule | None = None) -> dict[str, Any]:
    """The preservation rule for this request: {days, retention_policy, extension, basis}."""
    rule = rule or get_instrument(session, request.instrument_key)
    return rules.preservation_spec(session, request.jurisdiction, rule.preservation, rule.citation)


def preservations_of(session: Session, request_id: int) -> list[Preservation]:
    return list(session.scalars(select(Preservation).where(Preservation.request_id == request_id)
                                .order_by(Preservation.id)))


def describe(row: Preservation, now: datetime) -> dict[str, Any]:
    """What a person is told about a preservation: state, words and the date they rest on.

    A row whose period has passed reads "expired on <date>" even before the expiry timer has
    run, so nobody reads "preserved until" a date already gone.
    """
    def day(moment: datetime) -> str:
        return f"{moment:%Y-%m-%d}"

    if row.status == "preserved" and row.expires_at is not None:
        if row.expires_at <= now:
            return {"state": "expired", "label": f"expired on {day(row.expires_at)}", "date": row.expires_at}
        return {"state": "preserved", "label": f"preserved until {day(row.expires_at)}", "date": row.expires_at}
    if row.status == "expired":
        when = row.expires_at or row.released_at
        return {"state": "expired", "label": f"expired on {day(when)}" if when else "expired", "date": when}
    if row.status == "released":
        when = row.released_at or row.expires_at
        return {"state": "released", "label": f"released on {day(when)}" if when else "released", "date": when}
    if row.status == "held":
        return {"state": "held", "label": "kept under legal hold until released", "date": None}
    if row.status == "failed":
        return {"state": "failed", "label": f"not yet preserved (retrying): {row.last_error[:200]}", "date": None}
    return {"state": row.status, "label": "being preserved", "date": None}


def _named_posts(session: Session, request_id: int) -> dict[str, list[str]]:
    """account id -> the posts the request names by URL, once their authors are known."""
    posts: dict[str, list[str]] = {}
    for row in requests.accounts_of(session, request_id):
        if row.account_id and row.content_id:
            posts.setdefault(row.account_id, [])
            if row.content_id not in posts[row.account_id]:
                posts[row.account_id].append(row.content_id)
    return posts


# -- starting ---------------------------------------------------------------------------------------


def on_arrival(session: Session, request: LegalRequest, rule: InstrumentRule, *, actor: str, clock: Clock) -> int:
    """Queue accounts not yet preserved, when this request is preserved at all; returns how many were queued.

    A request is preserved when its instrument is a preservation, when the organisation
    preserves every request (`legal.preserve_on_arrival`), or once staff pressed "preserve now"
    (then accounts resolved or confirmed later join the preservation).
    """
    rows = preservations_of(session, request.id)
    wanted = rule.kind == "preservation" or bool(get_value(session, PRESERVE_ON_ARRIVAL)) or any(
        r.purpose == "request" for r in rows)
    if not wanted or requests.is_closed(request):
        return 0
    if request.verification == "held" or request.fraudulent:
        if not any(e.kind == "preservation_skipped" for e in _events(session, request)):
            event(session, request, actor="bastion", kind="preservation_skipped", clock=clock,
                  text="Not preserved: the sender is not verified (held requests are never acted on).")
        return 0
    return _queue(session, request, spec_for(session, request, rule), purpose="request", actor=actor, clock=clock)


def _events(session: Session, request: LegalRequest) -> list[Any]:
    from bastion.legal.timeline import events_of

    return events_of(session, request.id)


def preserve_now(session: Session, request: LegalRequest, *, actor: str, clock: Clock, vault: Any = None,
                 reason: str = "") -> int:
    """Staff preserve the request's accounts and named posts now, under a legal hold; returns accounts queued."""
    if requests.is_closed(request):
        raise WrongState(f"{request.reference} is {request.status}; a closed request is not preserved. "
                         "Record a new request if the agency asks again.")
    if request.verification == "held" or request.fraudulent:
        raise RequestHeld(f"{request.reference} is held (its sender is not verified against the directory); held "
                          "requests are never acted on. Verify the agency first.")
    pending_posts = authors.unresolved_posts(session, request.id)
    spec = spec_for(session, request)
    queued = _queue(session, request, spec, purpose="request", actor=actor, clock=clock, announce=False)
    live = [r for r in preservations_of(session, request.id) if r.status in LIVE]
    if not live and not pending_posts:
        done = preservations_of(session, request.id)
        if done:
            raise WrongState(f"Every account of {request.reference} was preserved before ("
                             + "; ".join(f"{r.account_id}: {describe(r, clock.now())['label']}" for r in done)
                             + "). A new preservation needs a new request from the agency.")
        raise InvalidInput("No account of this request is resolved yet: confirm the platform's matches for its "
                           "usernames, emails and phone numbers (or give a user id or a post URL), then preserve.")
    if pending_posts:  # the task resolves their authors first, then preserves them too
        _schedule_run(session, request, clock=clock, preserve_all=True)
    hold = _ensure_hold(session, request, vault, actor=actor, reason=reason, spec=spec) if vault is not None else None
    event(session, request, actor=actor, kind="preserve_now", clock=clock,
          text=f"Preservation requested for {len(live)} account(s)"
               + (f" and the authors of {len(pending_posts)} named post(s)" if pending_posts else "")
               + f" for {spec['days']} days ({spec['basis']})"
               + (f", under legal hold {hold}" if hold else "") + (f". {reason}" if reason else ""),
          details={"accounts": [r.account_id for r in live], "posts": [p.content_id for p in pending_posts],
                   "days": spec["days"], "basis": spec["basis"], "hold": hold, "queued": queued})
    return queued


def queue_removed(session: Session, request: LegalRequest, spec: dict[str, Any], *, accounts: list[str], actor: str,
                  clock: Clock, vault: Any = None) -> int:
    """Preserve what a removal order took down: the authors' accounts and the removed posts, under `spec`."""
    queued = _queue(session, request, spec, purpose="removal", actor=actor, clock=clock, accounts=accounts)
    if vault is not None and any(r.status in LIVE for r in preservations_of(session, request.id)):
        _ensure_hold(session, request, vault, actor=actor, spec=spec)
    return queued


def _queue(session: Session, request: LegalRequest, spec: dict[str, Any], *, purpose: str, actor: str, clock: Clock,
           accounts: list[str] | None = None, announce: bool = True) -> int:
    existing = {p.account_id: p for p in preservations_of(session, request.id)}
    posts = _named_posts(session, request.id)
    queued = 0
    for account_id in accounts if accounts is not None else requests.resolved_accounts(session, request.id):
        row = existing.get(account_id)
        if row is not None:
            if row.status in ("pending", "failed"):
                row.content_json = json.dumps(sorted(set(_content_ids(row)) | set(posts.get(account_id, []))))
            continue
        session.add(Preservation(request_id=request.id, account_id=account_id, status="pending", days=int(spec["days"]),
                                 retention_policy=spec["retention_policy"], basis=spec.get("basis", ""),
                                 purpose=purpose, content_json=json.dumps(posts.get(account_id, []))))
        queued += 1
    if queued:
        session.flush()
        _schedule_run(session, request, clock=clock)
        if announce:
            event(session, request, actor=actor, kind="preservation_queued", clock=clock,
                  text=f"Preservation of {queued} account(s) queued ({spec['days']} days, {spec.get('basis', '')})")
    return queued


def _schedule_run(session: Session, request: LegalRequest, *, clock: Clock, preserve_all: bool = False) -> None:
    """Run `legal.preserve` now; `preserve_all` preserves accounts resolved by the run itself (named posts)."""
    timers.schedule(session, kind=PRESERVE_TASK, due_at=clock.now(), clock=clock, subject=subject(request),
                    payload={"request_id": request.id, "preserve_all": preserve_all},
                    dedupe_key=f"legal:{request.id}:preserve")


def _content_ids(row: Preservation) -> list[str]:
    return [c if isinstance(c, str) else c["content_id"] for c in json.loads(row.content_json or "[]")]


def _ensure_hold(session: Session, request: LegalRequest, vault: Any, *, actor: str, reason: str = "",
                 spec: dict[str, Any] | None = None) -> int:
    """One legal hold on the request's evidence while any preservation of it is live; returns its id."""
    rows = [r for r in preservations_of(session, request.id) if r.status in LIVE]
    hold_id = next((r.hold_id for r in rows if r.hold_id is not None), None)
    if hold_id is None:
        basis = (spec or spec_for(session, request)).get("basis", "")
        hold = vault.place_hold(session, subject=subject(request), actor=actor, reference=request.reference,
                                reason=f"preservation for {request.reference} ({basis})" + (f": {reason}" if reason else ""))
        hold_id = hold.id
    for row in rows:
        if row.hold_id is None:
            row.hold_id = hold_id
    return int(hold_id)


def _release_hold_if_idle(session: Session, request: LegalRequest, vault: Any, *, actor: str, clock: Clock,
                          reason: str) -> None:
    rows = preservations_of(session, request.id)
    if any(r.status in LIVE for r in rows):
        return
    from bastion.evidence.models import LegalHold

    for hold_id in sorted({r.hold_id for r in rows if r.hold_id is not None}):
        hold = session.get(LegalHold, hold_id)
        if hold is not None and hold.released_at is None:
            vault.release_hold(session, hold_id, reason=reason, actor=actor)
            event(session, request, actor=actor, kind="hold_released", clock=clock,
                  text=f"Legal hold {hold_id} on the evidence of {request.reference} released: {reason}")


# -- the task ---------------------------------------------------------------------------------------


def run_preservation(sessions: Any, request_id: int, *, connector: Any, vault: Any, clock: Clock,
                     preserve_all: bool = False) -> list[str]:
    """Resolve named posts, then preserve every pending account, each in its own transaction; returns the errors."""
    from bastion.platform import PlatformError

    errors: list[str] = []
    with sessions() as session, session.begin():
        request = session.get(LegalRequest, request_id)
        if request is None:
            return []
        errors.extend(authors.resolve_posts(session, request, connector, actor="bastion", clock=clock))
        rows = preservations_of(session, request.id)
        if (rows or preserve_all) and not (request.verification == "held" or request.fraudulent):
            purpose = "removal" if rows and all(r.purpose == "removal" for r in rows) else "request"
            spec = spec_for(session, request) if not rows else {
                "days": rows[0].days or spec_for(session, request)["days"],
                "retention_policy": rows[0].retention_policy, "basis": rows[0].basis}
            _queue(session, request, spec, purpose=purpose, actor="bastion", clock=clock)
        pending = [p.id for p in preservations_of(session, request.id) if p.status in ("pending", "failed")]
    for preservation_id in pending:
        with sessions() as session, session.begin():
            row = session.get(Preservation, preservation_id, with_for_update=True)
            request = session.get(LegalRequest, request_id)
            if row is None or request is None or row.status not in ("pending", "failed"):
                continue
            try:
                snapshot = connector.preserve_account(row.account_id, f"legal-preserve-{request.id}-{row.account_id}")
                posts = [(connector.get_content(cid), cid) for cid in _content_ids(row)]
                media = {cid: connector.fetch_media(cid) for post, cid in posts if post.media_url}
            except PlatformError as exc:
                row.status, row.last_error = "failed", str(exc)[:2000]
                event(session, request, actor="bastion", kind="preservation_failed", clock=clock,
                      text=f"Preserving {row.account_id} failed: {exc}; retrying.")
                errors.append(f"{row.account_id}: {exc}")
                continue
            _keep(session, request, row, snapshot, [p for p, _ in posts], media, vault=vault, clock=clock)
    with sessions() as session, session.begin():
        request = session.get(LegalRequest, request_id)
        if request is not None:
            _settle(session, request, clock=clock)
    return errors


def _keep(session: Session, request: LegalRequest, row: Preservation, snapshot: Any, posts: list[Any],
          media: dict[str, bytes], *, vault: Any, clock: Clock) -> None:
    now = clock.now()
    reason = f"preservation for legal request {request.reference} ({row.basis})"
    data = json.dumps(snapshot.model_dump(mode="json"), sort_keys=True, indent=1).encode()
    item = vault.preserve(session, data, kind="account_snapshot", subject=subject(request), actor="bastion",
                          reason=reason, metadata={"account_id": row.account_id,
                                                   "preservation_id": snapshot.preservation_id,
                                                   "preserved_at": snapshot.preserved_at},
                          context={"request": request.reference, "instrument": request.instrument_key})
    kept = [{"content_id": post.content_id, **_keep_post(session, request, post, media.get(post.content_id),
                                                         vault=vault, reason=reason)} for post in posts]
    row.status, row.platform_reference, row.evidence_id = "preserved", snapshot.preservation_id, item.id
    row.preserved_at, row.last_error = now, ""
    row.days = row.days or int(spec_for(session, request)["days"])
    row.expires_at = now + timedelta(days=row.days)
    row.content_json = json.dumps(kept)
    for evidence_id in [item.id, *(k["evidence"] for k in kept), *(k["media"] for k in kept if k.get("media"))]:
        vault.apply_retention(session, evidence_id, row.retention_policy, from_time=now, actor="bastion",
                              reason=f"preservation period of {request.reference}")
    _ensure_hold(session, request, vault, actor="bastion")
    _schedule_expiry(session, request, row, clock=clock)
    named = f"; named post(s) {', '.join(k['content_id'] for k in kept)} kept as evidence" if kept else ""
    event(session, request, actor="bastion", kind="preserved", clock=clock,
          text=f"Account {row.account_id} preserved (platform reference {snapshot.preservation_id}, evidence "
               f"{item.id}){named}; the preservation runs {row.days} days to {row.expires_at:%Y-%m-%d} ({row.basis})",
          details={"account_id": row.account_id, "evidence": item.id, "expires_at": row.expires_at,
                   "posts": kept, "hold": row.hold_id})


def _keep_post(session: Session, request: LegalRequest, post: Any, blob: bytes | None, *, vault: Any, reason: str
               ) -> dict[str, Any]:
    meta = json.dumps(post.model_dump(mode="json"), sort_keys=True, indent=1).encode()
    item = vault.preserve(session, meta, kind="content_snapshot", subject=subject(request), actor="bastion",
                          reason=reason, metadata={"account_id": post.account_id, "content_id": post.content_id},
                          context={"request": request.reference})
    kept: dict[str, Any] = {"evidence": item.id}
    if blob is not None:
        media = vault.preserve(session, blob, kind="media", subject=subject(request), actor="bastion", reason=reason,
                               metadata={"account_id": post.account_id, "content_id": post.content_id,
                                         "media_type": post.media_type, "created_at": post.created_at},
                               context={"request": request.reference})
        kept["media"] = media.id
    return kept


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
    if all(r.status == "preserved" and r.expires_at and r.expires_at > clock.now() for r in rows):
        until = min(r.expires_at for r in rows if r.expires_at)
        request.status = "preserved"
        clocks.note_answered(session, request, actor="bastion", clock=clock,
                             text=f"All {len(rows)} account(s) preserved; the preservation runs to {until:%Y-%m-%d}.")
        refs = ", ".join(f"{r.account_id}: {r.platform_reference}" for r in rows)
        notify.requester(session, request, actor="bastion", clock=clock, subject=f"{request.reference}: preserved",
                         text=f"The accounts named in {request.reference} are preserved; the preservation runs to "
                              f"{until:%Y-%m-%d} ({refs}). Quote these references in your follow-up legal process.",
                         kind="preservation_confirmed")


# -- extending and ending ----------------------------------------------------------------------------


def _end_of(day: date | datetime) -> datetime:
    if isinstance(day, datetime):
        return day if day.tzinfo else day.replace(tzinfo=UTC)
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)


def extend(session: Session, request: LegalRequest, *, actor: str, clock: Clock, vault: Any, reason: str,
           requested_by: str = "", until: date | datetime | None = None) -> list[Preservation]:
    """Extend every live preservation, as its rule allows; filed before expiry only, always with its basis.

    `reason` is what the extension rests on (the renewed request, the order); `requested_by`
    (who requires it: the court or agency) and `until` are needed where the rule says the
    period is "as requested" (India, Rule 3(1)(g)); without `until` it is kept under the legal
    hold until released ("until further orders").
    """
    if not reason.strip():
        raise InvalidInput("Say what the extension rests on (e.g. the renewed request's or the order's date and "
                           "reference).")
    rows = [r for r in preservations_of(session, request.id) if r.status == "preserved"]
    if not rows:
        raise WrongState(f"{request.reference} has no live preservation to extend.")
    extension = (spec_for(session, request).get("extension") or {}) if rows[0].purpose == "request" else \
        ((rules.removal_spec(session, request.instrument_key) or {}).get("preserve") or {}).get("extension") or {}
    now, changed = clock.now(), []
    for row in rows:
        assert row.expires_at is not None
        if row.expires_at <= now:
            raise WrongState(f"The preservation of {row.account_id} expired on {row.expires_at:%Y-%m-%d}; "
                             "extensions must be filed before expiry.")
    for row in rows:
        text = _extend_one(session, request, row, extension, vault=vault, actor=actor, clock=clock, reason=reason,
                           requested_by=requested_by, until=until)
        event(session, request, actor=actor, kind="preservation_extended", clock=clock, text=f"{text}. {reason}",
              details={"account_id": row.account_id, "expires_at": row.expires_at, "extensions": row.extensions,
                       "requested_by": requested_by, "basis": row.extension_basis})
        changed.append(row)
    return changed


def _extend_one(session: Session, request: LegalRequest, row: Preservation, extension: dict[str, Any], *, vault: Any,
                actor: str, clock: Clock, reason: str, requested_by: str, until: date | datetime | None) -> str:
    assert row.expires_at is not None
    kind = extension.get("type")
    if kind == "days":
        if row.extensions >= int(extension.get("max", 1)):
            raise WrongState(f"{row.account_id} was already extended {row.extensions} time(s), the most the "
                             f"catalogue allows ({extension.get('note', '')}).")
        old = row.expires_at
        row.expires_at = old + timedelta(days=int(extension["days"]))
        row.extensions += 1
        row.extension_basis = _basis(row, f"{reason} (+{extension['days']} days)")
        if row.evidence_id is not None:
            vault.apply_retention(session, row.evidence_id, row.retention_policy, from_time=old, actor=actor,
                                  reason=f"extension of {request.reference}: {reason}")
        _schedule_expiry(session, request, row, clock=clock)
        return f"Preservation of {row.account_id} extended to {row.expires_at:%Y-%m-%d}"
    if kind == "requested":
        if not requested_by.strip():
            raise InvalidInput("Say who requires the longer period (the court, or the lawfully authorised agency) "
                               f"and on what authority: {extension.get('note', '')}")
        if until is None:
            return _hold_open(session, request, row, vault, actor=actor, basis=f"{requested_by}: {reason} "
                                                                               "(until further orders)")
        new = _end_of(until)
        if new <= row.expires_at:
            raise InvalidInput(f"The new end ({new:%Y-%m-%d}) must be after the current one "
                               f"({row.expires_at:%Y-%m-%d}).")
        row.expires_at, row.extensions = new, row.extensions + 1
        row.extension_basis = _basis(row, f"{requested_by}: {reason} (until {new:%Y-%m-%d})")
        _ensure_hold(session, request, vault, actor=actor)
        _schedule_expiry(session, request, row, clock=clock)
        return f"Preservation of {row.account_id} extended to {row.expires_at:%Y-%m-%d} at the request of {requested_by}"
    if kind == "hold":
        return _hold_open(session, request, row, vault, actor=actor, basis=reason)
    raise WrongState(f"{request.instrument_key} allows no extension.")


def _hold_open(session: Session, request: LegalRequest, row: Preservation, vault: Any, *, actor: str, basis: str
               ) -> str:
    hold_id = _ensure_hold(session, request, vault, actor=actor, reason=basis)
    row.status, row.extensions = "held", row.extensions + 1
    row.extension_basis = _basis(row, basis)
    timers.cancel(session, subject=subject(request), kind=EXPIRY_TASK)
    timers.cancel(session, subject=subject(request), kind=REMINDER_TASK)
    return f"Preservation of {row.account_id} kept under legal hold {hold_id} until released"


def _basis(row: Preservation, text: str) -> str:
    return "\n".join(filter(None, [row.extension_basis, text]))


def release(session: Session, request: LegalRequest, *, actor: str, clock: Clock, vault: Any, reason: str) -> None:
    """End preservations kept under hold (e.g. the follow-up request was answered); the hold goes when none is live."""
    if not reason.strip():
        raise InvalidInput("Say why the preservation ends (e.g. the production that answered it).")
    for row in preservations_of(session, request.id):
        if row.status == "held":
            row.status, row.released_at = "released", clock.now()
            event(session, request, actor=actor, kind="preservation_released", clock=clock,
                  text=f"Preservation of {row.account_id} released: {reason}")
    _release_hold_if_idle(session, request, vault, actor=actor, clock=clock, reason=reason)


@registry.task(PRESERVE_TASK)
def preserve_task(ctx: TaskContext, payload: dict[str, Any]) -> None:
    factory, vault = ctx.services.get(CONNECTOR_FACTORY), ctx.services.get(VAULT_SERVICE)
    if factory is None or vault is None:
        raise RuntimeError(f"legal.preserve needs {CONNECTOR_FACTORY!r} and {VAULT_SERVICE!r} in the task services")
    connector = factory()
    try:
        errors = run_preservation(ctx.sessions, int(payload["request_id"]), connector=connector, vault=vault,
                                  clock=ctx.clock, preserve_all=bool(payload.get("preserve_all")))
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
        if row is None or row.status != "preserved" or row.expires_at is None or row.expires_at <= ctx.clock.now():
            return
        request = session.get(LegalRequest, row.request_id)
        assert request is not None
        notify.staff(session, request, to=[clocks.assignee_address(session, request)], kind="preservation_reminder",
                     clock=ctx.clock, subject=f"Preservation expiring: {request.reference}",
                     text=f"The preservation of {row.account_id} for {request.reference} ends on "
                          f"{row.expires_at:%Y-%m-%d %H:%M} UTC ({row.basis}). Extensions must be filed before then.")


@registry.task(EXPIRY_TASK)
def preservation_expired(ctx: TaskContext, payload: dict[str, Any]) -> None:
    vault = ctx.services.get(VAULT_SERVICE)
    with ctx.sessions() as session, session.begin():
        row = session.get(Preservation, int(payload["preservation_id"]))
        if row is None or row.status != "preserved" or row.expires_at is None or row.expires_at > ctx.clock.now():
            return
        request = session.get(LegalRequest, row.request_id)
        assert request is not None
        row.status = "expired"
        event(session, request, actor="bastion", kind="preservation_expired", clock=ctx.clock,
              text=f"The preservation of {row.account_id} expired on {row.expires_at:%Y-%m-%d}; its copies now follow "
                   f"their retention policy ({row.retention_policy}).")
        if vault is not None:
            _release_hold_if_idle(session, request, vault, actor="bastion", clock=ctx.clock,
                                  reason=f"every preservation of {request.reference} has ended")
        else:
            log.warning("preservation expired but no vault service: its legal hold stays until released",
                        extra={"request": request.id})
        rows = preservations_of(session, request.id)
        if request.status == "preserved" and all(r.status in ("expired", "released") for r in rows):
            requests.close(session, request, actor="bastion", clock=ctx.clock, status="expired",
                         text="Every preservation expired without extension.")
