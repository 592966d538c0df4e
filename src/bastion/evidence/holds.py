"""Legal holds: while one covers an item, nothing deletes it, whatever its retention says.

A hold names one item or a subject ("case:12", "account:abc"); a subject hold also
covers evidence preserved about that subject after the hold was placed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.errors import Conflict
from bastion.evidence import custody
from bastion.evidence.errors import (
    EvidenceNotFound,
    EvidencePurged,
    HoldNotFound,
    InvalidEvidence,
)
from bastion.evidence.models import PRESERVED, PURGED, EvidenceItem, LegalHold
from bastion.evidence.schedule import schedule_purge

SUBJECT = re.compile(r"[a-z][a-z0-9_]*:\S{1,280}")


def check_subject(subject: str) -> str:
    if not SUBJECT.fullmatch(subject):
        raise InvalidEvidence(f"Subject {subject!r} must look like 'case:12', 'account:abc' or 'request:5'.")
    return subject


def held_clause() -> ColumnElement[bool]:
    """SQL: the `EvidenceItem` row of the enclosing query is under an active hold."""
    return exists(select(LegalHold.id).where(
        LegalHold.released_at.is_(None),
        or_(LegalHold.item_id == EvidenceItem.id, LegalHold.subject == EvidenceItem.subject),
    ))


def is_held(session: Session, item: EvidenceItem) -> bool:
    return bool(session.scalar(select(held_clause()).where(EvidenceItem.id == item.id)))


def active_holds(session: Session, *, subject: str | None = None, item_id: int | None = None) -> list[LegalHold]:
    """Active holds, optionally only those covering an item (directly or by its subject) or a subject."""
    stmt = select(LegalHold).where(LegalHold.released_at.is_(None)).order_by(LegalHold.id)
    if item_id is not None:
        item = session.get(EvidenceItem, item_id)
        if item is None:
            raise EvidenceNotFound(f"No evidence item {item_id}.")
        stmt = stmt.where(or_(LegalHold.item_id == item.id, LegalHold.subject == item.subject))
    elif subject is not None:
        stmt = stmt.where(LegalHold.subject == subject)
    return list(session.scalars(stmt))


def place_hold(
    session: Session,
    *,
    subject: str | None = None,
    item_id: int | None = None,
    reason: str,
    actor: str,
    clock: Clock,
    reference: str = "",
) -> LegalHold:
    """Hold one item or a whole subject; recorded in each covered item's custody.

    The covered items are locked first, so a purge running at the same moment either
    finishes before the hold exists or sees it.
    """
    if (subject is None) == (item_id is None):
        raise InvalidEvidence("A legal hold names exactly one of a subject or an item.")
    if not reason.strip():
        raise InvalidEvidence("A legal hold needs a reason (for example the court order or request it answers).")
    if subject is not None:
        check_subject(subject)
    items = _lock_items(session, subject=subject, item_id=item_id)
    if item_id is not None:
        if not items:
            raise EvidenceNotFound(f"No evidence item {item_id}.")
        if items[0].status == PURGED:
            raise EvidencePurged(f"Evidence item {item_id} was already purged; there is nothing left to hold.")
    hold = LegalHold(subject=subject, item_id=item_id, reason=reason, reference=reference, placed_at=clock.now(),
                     placed_by=actor)
    session.add(hold)
    session.flush()
    custody.record(session, [i for i in items if i.status == PRESERVED], action=custody.HOLD, actor=actor,
                   reason=reason, clock=clock, audit_subject=f"evidence_hold:{hold.id}",
                   details={"hold": hold.id, "subject": subject, "item": item_id, "reference": reference})
    return hold


def release_hold(session: Session, hold_id: int, *, reason: str, actor: str, clock: Clock) -> LegalHold:
    """End a hold. Covered items whose retention has passed become due for the next purge run."""
    hold = session.get(LegalHold, hold_id, with_for_update=True)
    if hold is None:
        raise HoldNotFound(f"No legal hold {hold_id}.")
    if hold.released_at is not None:
        raise Conflict(f"Legal hold {hold_id} was already released at {hold.released_at:%Y-%m-%d %H:%M} UTC.")
    if not reason.strip():
        raise InvalidEvidence("Releasing a legal hold needs a reason (for example the case closing).")
    now = clock.now()
    hold.released_at, hold.released_by, hold.release_reason = now, actor, reason
    session.flush()
    items = [i for i in _lock_items(session, subject=hold.subject, item_id=hold.item_id) if i.status == PRESERVED]
    custody.record(session, items, action=custody.RELEASE, actor=actor, reason=reason, clock=clock,
                   audit_subject=f"evidence_hold:{hold.id}", details={"hold": hold.id})
    for item in items:
        if item.retention_until is not None and item.retention_until <= now:
            schedule_purge(session, item, due_at=now, clock=clock)
    return hold


def _lock_items(session: Session, *, subject: str | None, item_id: int | None) -> Sequence[EvidenceItem]:
    where = EvidenceItem.subject == subject if subject is not None else EvidenceItem.id == item_id
    return session.scalars(select(EvidenceItem).where(where).order_by(EvidenceItem.id).with_for_update()).all()
