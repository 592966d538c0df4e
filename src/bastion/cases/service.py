"""Opening cases from matches, claiming, deciding, escalating. Every step is an event and audited."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from bastion import audit, timers
from bastion.auth.models import User
from bastion.cases import routing, wellness
from bastion.cases.kinds import REPORTABLE, classifications_of, severity_order
from bastion.cases.errors import AlreadyDecided, CaseHeld, CaseNotFound, DecisionRefused, InvalidTransition, NotRevealed
from bastion.cases.media import VAULT_PREFIX
from bastion.cases.models import Case, CaseEvent, CaseItem, EntryFeedback
from bastion.clock import Clock
from bastion.orgsettings import get_value

OPEN = ("new", "in_review", "escalated")
TRANSITIONS: dict[str, set[str]] = {
    "new": {"in_review"},
    "in_review": {"new", "confirmed", "dismissed", "escalated"},
    "escalated": {"confirmed", "dismissed"},
    "confirmed": {"actioned", "closed"},
    "dismissed": {"closed"},
    "actioned": {"closed"},
    "closed": set(),
}
CLASS_WEIGHT = {"A1": 100, "A2": 80, "B1": 60, "B2": 40}
REMOVAL_TIMER = "cases.removal_due"


def get_case(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFound(f"No case {case_id}.")
    return case


def get_item(session: Session, case: Case, item_id: int) -> CaseItem:
    item = session.get(CaseItem, item_id)
    if item is None or item.case_id != case.id:
        raise CaseNotFound(f"Case {case.id} has no item {item_id}.")
    return item


def items_of(session: Session, case_id: int) -> list[CaseItem]:
    return list(session.scalars(select(CaseItem).where(CaseItem.case_id == case_id).order_by(CaseItem.id)))


def events_of(session: Session, case_id: int) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)))


def _event(session: Session, case: Case, actor: str, kind: str, clock: Clock, *, to: str = "",
           details: dict[str, Any] | None = None) -> None:
    session.add(CaseEvent(case_id=case.id, at=clock.now(), actor=actor[:200], kind=kind, from_status=case.status,
                          to_status=to or case.status, details=json.dumps(details or {}, default=str)))
    audit.record(session, actor=actor, action=f"case.{kind}", subject=f"case:{case.id}",
                 details={"from": case.status, "to": to or case.status, **(details or {})}, clock=clock)


def transition(session: Session, case: Case, to: str, *, actor: str, clock: Clock, kind: str = "transition",
               details: dict[str, Any] | None = None) -> None:
    if to not in TRANSITIONS[case.status]:
        raise InvalidTransition(f"Case {case.id} is {case.status}; it cannot become {to}.")
    _event(session, case, actor, kind, clock, to=to, details=details)
    case.status, case.updated_at = to, clock.now()
    if to in ("closed",):
        case.closed_at = clock.now()


# -- from matches ------------------------------------------------------------------------------

def open_or_extend(session: Session, *, account_id: str, scan_id: int, content_id: str, matches: Sequence[Any],
                   media_ref: str, clock: Clock) -> Case:
    """Add a scan's matches to the account's open case, or open one. `matches` are BankMatch rows."""
    key = account_id or f"content:{content_id or scan_id}"
    case = session.scalar(select(Case).where(Case.account_id == key, Case.status.in_(OPEN), Case.kind == "csam")
                          .order_by(Case.id))
    fresh = case is None
    if case is None:
        hours = int(get_value(session, "review.removal_hours"))
        now = clock.now()
        best_source = min(matches, key=lambda m: m.distance).source or ""
        where = _scan_place(session, scan_id)
        case = Case(account_id=key, status="new", priority=0, opened_at=now, updated_at=now,
                    removal_due_at=now + timedelta(hours=hours), kind="csam",
                    source="exchange" if best_source.startswith("exchange:") else "bank",
                    jurisdiction=where[0], language=where[1],
                    removal_policy=str(get_value(session, "review.removal_policy")))
        session.add(case)
        session.flush()
        _event(session, case, "bastion", "opened", clock, details={"account_id": key})
        timers.schedule(session, kind=REMOVAL_TIMER, due_at=case.removal_due_at, clock=clock,  # type: ignore[arg-type]
                        subject=f"case:{case.id}", payload={"case_id": case.id}, dedupe_key=f"case:{case.id}:removal")
    best = min(matches, key=lambda m: (m.distance, -CLASS_WEIGHT.get(m.classification, 50)))
    if session.scalar(select(CaseItem.id).where(CaseItem.case_id == case.id, CaseItem.scan_id == scan_id)) is None:
        session.add(CaseItem(case_id=case.id, scan_id=scan_id, content_id=content_id, bank_id=best.bank_id,
                             bank_name=best.bank_name, bank_source=best.source, entry_id=best.entry_id,
                             signal_type=best.signal_type, distance=best.distance, category=best.classification,
                             media_ref=media_ref, added_at=clock.now()))
        session.flush()
        _event(session, case, "bastion", "item_added",
               clock, details={"scan_id": scan_id, "bank": best.bank_name, "distance": best.distance})
    case.priority = priority(session, case)
    case.updated_at = clock.now()
    if fresh:
        routing.route(session, case, clock=clock)
    return case


def _scan_place(session: Session, scan_id: int) -> tuple[str, str]:
    """The upload's jurisdiction and language, when the platform sent them with the scan (metadata)."""
    from bastion.scanning.models import Scan

    raw = session.scalar(select(Scan.metadata_json).where(Scan.id == scan_id)) or "{}"
    try:
        meta = json.loads(raw)
    except ValueError:
        return "", ""
    if not isinstance(meta, dict):
        return "", ""
    place = str(meta.get("jurisdiction") or meta.get("country") or "")[:16].upper()
    return place, str(meta.get("language") or meta.get("lang") or "")[:16].lower()


def priority(session: Session, case: Case) -> int:
    """Higher first: the gravest classification, the closest match, and the account's confirmed history."""
    items = items_of(session, case.id)
    grave = max((CLASS_WEIGHT.get(i.category, 50) for i in items), default=50)
    closest = min((i.distance for i in items), default=31)
    history = session.scalar(select(func.count()).select_from(Case).where(
        Case.account_id == case.account_id, Case.id != case.id, Case.status.in_(("confirmed", "actioned", "closed")),
        Case.classification != "")) or 0
    return grave + max(0, 31 - closest) + 20 * min(history, 5) + min(len(items), 10)


# -- claims ---------------------------------------------------------------------------------------

def _claim_live(case: Case, clock: Clock) -> bool:
    return case.claimed_by is not None and case.claim_expires_at is not None and case.claim_expires_at > clock.now()


def may_reveal(case: Case, user_id: int, *, any_case: bool, clock: Clock) -> bool:
    """Whether `user_id` may see this case's media unblurred: its live claim holder, or a lead (`any_case`)."""
    return any_case or (_claim_live(case, clock) and case.claimed_by == user_id)


def holder_name(session: Session, case: Case) -> str:
    user = session.get(User, case.claimed_by) if case.claimed_by else None
    return user.username if user else "nobody"


def claim(session: Session, case: Case, user: User, *, clock: Clock, visible: list[int] | None = None) -> Case:
    """Take the case exclusively for `review.claim_minutes`; refused, naming the holder, if someone has it.

    `visible` is the queues the reviewer works (None: all); a case in another queue is not theirs to take.
    """
    if not routing.may_see(case, visible):
        raise CaseNotFound(f"No case {case.id} in your queues.")
    if not (_claim_live(case, clock) and case.claimed_by == user.id):
        wellness.check_cap(session, user.id, clock)
    if _claim_live(case, clock) and case.claimed_by != user.id:
        raise CaseHeld(f"Case {case.id} is being reviewed by {holder_name(session, case)} "
                       f"until {case.claim_expires_at:%H:%M} UTC.")
    if case.status == "escalated":
        if case.escalated_by == user.id:
            raise CaseHeld(f"Case {case.id} needs a second reviewer: you escalated it.")
    elif case.status not in ("new", "in_review"):
        raise InvalidTransition(f"Case {case.id} is {case.status}; there is nothing to review.")
    minutes = int(get_value(session, "review.claim_minutes"))
    fresh = case.claimed_by != user.id or not _claim_live(case, clock)
    case.claimed_by, case.claim_expires_at = user.id, clock.now() + timedelta(minutes=minutes)
    if case.status == "new":
        transition(session, case, "in_review", actor=user.username, clock=clock, kind="claimed")
    elif fresh:
        _event(session, case, user.username, "claimed", clock)
    return case


def release(session: Session, case: Case, user: User, *, clock: Clock) -> None:
    if case.claimed_by != user.id:
        return
    case.claimed_by, case.claim_expires_at = None, None
    if case.status == "in_review" and not any(i.decision != "pending" for i in items_of(session, case.id)):
        transition(session, case, "new", actor=user.username, clock=clock, kind="released")
    else:
        _event(session, case, user.username, "released", clock)


def require_claim(session: Session, case: Case, user: User, clock: Clock) -> None:
    if not _claim_live(case, clock) or case.claimed_by != user.id:
        holder = f" It is held by {holder_name(session, case)}." if _claim_live(case, clock) else ""
        raise CaseHeld(f"Claim case {case.id} before deciding.{holder}")


def next_case(session: Session, user: User, *, clock: Clock, visible: list[int] | None = None,
              queue_id: int | None = None) -> Case | None:
    """The most urgent case this reviewer may take (expired claims count as free), claimed for them.

    Only from the queues they work (`visible`, None: all). Within one chosen queue the queue's order
    holds (legal clock, severity, age); across queues, severity first, as the general queue always was.
    """
    now = clock.now()
    free = or_(Case.claimed_by.is_(None), Case.claim_expires_at <= now, Case.claimed_by == user.id)
    reviewable = or_(Case.status.in_(("new", "in_review")),
                     (Case.status == "escalated") & ((Case.escalated_by.is_(None)) | (Case.escalated_by != user.id)))
    stmt = select(Case).where(free, reviewable)
    scope = routing.scope_clause(visible)
    if scope is not None:
        stmt = stmt.where(scope)
    if queue_id is not None:
        if not routing.may_see(Case(queue_id=queue_id), visible):
            raise CaseNotFound("That queue is not one of yours; pick one of your queues.")
        stmt = stmt.where(Case.queue_id == queue_id).order_by(*routing.order_in_queue())
    else:
        stmt = stmt.order_by(Case.priority.desc(), Case.removal_due_at, Case.id)
    case = session.scalar(stmt.limit(1))
    return claim(session, case, user, clock=clock, visible=visible) if case is not None else None


def queue(session: Session, *, clock: Clock, limit: int = 100) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.status.in_(OPEN))
                                .order_by(Case.priority.desc(), Case.removal_due_at, Case.id).limit(limit)))


# -- decisions --------------------------------------------------------------------------------------

def mark_viewed(session: Session, item: CaseItem) -> None:
    item.viewed = True


def may_confirm_unseen(session: Session, item: CaseItem) -> bool:
    """Policy: exact matches of listed classifications may be confirmed without viewing."""
    allowed = str(get_value(session, "review.action_without_viewing")).split()
    return item.category in allowed and item.distance == 0


def confirm_item(session: Session, case: Case, item: CaseItem, user: User, *, classification: str,
                 annotations: list[str], clock: Clock) -> None:
    require_claim(session, case, user, clock)
    allowed = classifications_of(case.kind)
    if classification not in allowed:
        raise DecisionRefused(f"Choose a classification for this kind of case: {', '.join(allowed)}.")
    if not item.viewed and not may_confirm_unseen(session, item):
        raise NotRevealed("Open (reveal) the item before confirming it; policy does not allow confirming unseen.")
    _decide(session, case, item, user, "confirmed", clock, classification=classification,
            annotations=" ".join(annotations))


def reject_item(session: Session, case: Case, item: CaseItem, user: User, *, reason: str, disable_entry: bool,
                clock: Clock) -> None:
    """Not a match: the reason is required and becomes feedback on the bank entry."""
    require_claim(session, case, user, clock)
    if not reason.strip():
        raise DecisionRefused("Say why this is not a match; the reason is sent back to the bank's curators.")
    _decide(session, case, item, user, "not_match", clock, reason=reason.strip())
    if case.kind not in REPORTABLE or item.signal_type in routing.UNHASHED:
        return  # no bank entry brought it here: there is nothing to teach a bank
    session.add(EntryFeedback(entry_id=item.entry_id, case_item_id=item.id, reviewer=user.username,
                              reason=reason.strip(), disabled_entry=disable_entry, at=clock.now()))
    _retire_innocent_media(session, item, clock)
    if disable_entry:
        from bastion.banks import service as banks

        entry = banks.get_entry(session, item.entry_id)
        banks.set_entry_enabled(session, entry, False, actor=user.username, clock=clock,
                                reason=f"not a match in case {case.id}: {reason.strip()}")


#: The retention policy that purges media once it is decided not to be a match (evidence catalogue v2).
FALSE_POSITIVE_MEDIA = "false_positive_media"


def _retire_innocent_media(session: Session, item: CaseItem, clock: Clock) -> None:
    """An innocent user's picture, kept only because it matched, goes on the catalogue's purge schedule.

    Only when no other case item holds the same media undecided or confirmed: the same bytes may be
    evidence elsewhere. Legal holds still stop the purge (see `bastion.evidence.purge`).
    """
    if not item.media_ref.startswith(VAULT_PREFIX):
        return
    others = session.scalar(select(func.count()).select_from(CaseItem).where(
        CaseItem.media_ref == item.media_ref, CaseItem.id != item.id,
        CaseItem.decision != "not_match"))
    if others:
        return
    from bastion.evidence import retention

    retention.apply_retention(session, int(item.media_ref[len(VAULT_PREFIX):]), FALSE_POSITIVE_MEDIA,
                              from_time=clock.now(), actor="bastion", clock=clock,
                              reason=f"case item {item.id} decided not a match")


def _decide(session: Session, case: Case, item: CaseItem, user: User, decision: str, clock: Clock,
            **fields: str) -> None:
    if item.case_id != case.id:
        raise CaseNotFound(f"Item {item.id} is not part of case {case.id}.")
    _take_pending(session, case, item, user, decision, clock)
    item.decision, item.decided_by, item.decided_at = decision, user.id, clock.now()
    for key, value in fields.items():
        setattr(item, key, value)
    _event(session, case, user.username, "item_" + decision, clock,
           details={"item": item.id, **{k: v for k, v in fields.items() if v}})
    case.claim_expires_at = clock.now() + timedelta(minutes=int(get_value(session, "review.claim_minutes")))


def _take_pending(session: Session, case: Case, item: CaseItem, user: User, decision: str, clock: Clock) -> None:
    """Take the item from pending by a conditional update, so two deciders racing on one item cannot both win.

    The page (or the other tab) may have read the item before someone else decided it; the row in the
    database, not the copy in memory, says whether it is still open.
    """
    taken = session.execute(update(CaseItem).where(CaseItem.id == item.id, CaseItem.decision == "pending")
                            .values(decision=decision, decided_by=user.id, decided_at=clock.now())
                            .execution_options(synchronize_session=False))
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise AlreadyDecided(f"Item {item.id} of case {case.id} was decided by someone else first; nothing was "
                             "decided. Look at the case again.")


def escalate(session: Session, case: Case, user: User, *, note: str, clock: Clock) -> None:
    require_claim(session, case, user, clock)
    if case.status != "in_review":
        raise InvalidTransition(f"Only a case in review can be escalated; case {case.id} is {case.status}.")
    transition(session, case, "escalated", actor=user.username, clock=clock, kind="escalated",
               details={"note": note})
    case.escalated_by, case.claimed_by, case.claim_expires_at = user.id, None, None


def conclude(session: Session, case: Case, user: User, *, clock: Clock) -> str:
    """Once every item is decided: confirmed (if any item is) or dismissed. Returns the new status."""
    require_claim(session, case, user, clock)
    items = items_of(session, case.id)
    pending = [i.id for i in items if i.decision == "pending"]
    if pending:
        raise DecisionRefused(f"Decide every item first; still open: {', '.join(map(str, pending))}.")
    confirmed = [i for i in items if i.decision == "confirmed"]
    to = "confirmed" if confirmed else "dismissed"
    if confirmed:
        order = severity_order(case.kind)
        case.classification = min((i.classification for i in confirmed), key=lambda c: order.get(c, 9))
    transition(session, case, to, actor=user.username, clock=clock, kind=to)
    case.claimed_by, case.claim_expires_at = None, None
    wellness.forget_case(session, [i.id for i in items])
    timers.cancel(session, subject=f"case:{case.id}", kind=REMOVAL_TIMER) if to == "dismissed" else None
    return to
