"""Deleting evidence whose retention has passed, unless a legal hold covers it.

A purge keeps the item as a tombstone (hashes, kind, subject, size, deadline) and its
whole custody log; it drops the bytes, EXIF, metadata and context. The blob goes when
no preserved item references it any more: its row (with the wrapped data key) is
deleted in the transaction, the stored object right after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.evidence import custody, txhooks
from bastion.evidence.errors import (
    EvidenceNotFound,
    EvidencePurged,
    HeldEvidence,
    RetentionActive,
)
from bastion.evidence.holds import held_clause, is_held
from bastion.evidence.models import (
    PRESERVED,
    PURGED,
    EvidenceBlob,
    EvidenceItem,
    RetentionApplied,
)
from bastion.evidence.store import BlobStore

#: Items purged per transaction; callers loop while a run purges this many.
BATCH = 500


@dataclass
class PurgeReport:
    """What one purge run did; `held` lists expired items a legal hold kept."""

    purged: list[int] = field(default_factory=list)
    objects_deleted: list[str] = field(default_factory=list)
    held: list[int] = field(default_factory=list)


def purge_expired(
    session: Session, *, store: BlobStore, now: datetime, actor: str, clock: Clock, limit: int = BATCH
) -> PurgeReport:
    """Purge up to `limit` items whose deadline is at or before `now` and that no hold covers.

    Runs in the caller's transaction; stored objects are deleted once it commits.
    Safe to run from several processes: each item is re-checked under its row lock.
    """
    report = PurgeReport()
    expired = (EvidenceItem.status == PRESERVED, EvidenceItem.retention_until <= now)
    due = session.scalars(
        select(EvidenceItem.id).where(*expired, ~held_clause()).order_by(EvidenceItem.retention_until).limit(limit)
    ).all()
    for item_id in due:
        item = _lock(session, item_id)
        if item.status != PRESERVED or item.retention_until is None or item.retention_until > now:
            continue  # another process got there first, or the deadline moved
        if is_held(session, item):
            continue  # held since the candidates were listed; counted below
        _purge(session, item, store=store, actor=actor, reason="retention expired", clock=clock, report=report)
    report.held.extend(session.scalars(
        select(EvidenceItem.id).where(*expired, held_clause()).order_by(EvidenceItem.id).limit(limit)
    ))
    return report


def purge_item(session: Session, item_id: int, *, store: BlobStore, actor: str, reason: str, clock: Clock) -> PurgeReport:
    """Purge one item on request (e.g. a court-ordered deletion), refusing while held or still retained."""
    item = _lock(session, item_id)
    if item.status == PURGED:
        raise EvidencePurged(f"Evidence item {item_id} was already purged.")
    if is_held(session, item):
        raise HeldEvidence(f"Evidence item {item_id} is under a legal hold; release the hold before deleting it.")
    if item.retention_until is not None and item.retention_until > clock.now():
        raise RetentionActive(
            f"Evidence item {item_id} must be kept until {item.retention_until:%Y-%m-%d %H:%M} UTC under its "
            "retention policies."
        )
    report = PurgeReport()
    _purge(session, item, store=store, actor=actor, reason=reason, clock=clock, report=report)
    return report


def _lock(session: Session, item_id: int) -> EvidenceItem:
    item = session.scalar(
        select(EvidenceItem).where(EvidenceItem.id == item_id).with_for_update().execution_options(populate_existing=True)
    )
    if item is None:
        raise EvidenceNotFound(f"No evidence item {item_id}.")
    return item


def _purge(
    session: Session, item: EvidenceItem, *, store: BlobStore, actor: str, reason: str, clock: Clock,
    report: PurgeReport,
) -> None:
    policies = sorted(set(session.scalars(select(RetentionApplied.policy_key).where(RetentionApplied.item_id == item.id))))
    blob_id = item.blob_id
    item.status, item.purged_at, item.blob_id = PURGED, clock.now(), None
    item.metadata_json = item.context_json = item.exif_json = "{}"
    session.flush()
    custody.record(session, [item], action=custody.PURGE, actor=actor, reason=reason, clock=clock, details={
        "sha256": item.sha256, "md5": item.md5, "sha1": item.sha1, "size": item.size, "policies": policies,
        "retention_until": item.retention_until.isoformat() if item.retention_until else None,
    })
    report.purged.append(item.id)
    if blob_id is not None:
        object_key = _drop_blob_if_unreferenced(session, blob_id, store)
        if object_key is not None:
            report.objects_deleted.append(object_key)


def _drop_blob_if_unreferenced(session: Session, blob_id: int, store: BlobStore) -> str | None:
    """Delete the blob row when nothing references it; its stored object goes after the commit.

    The blob row is locked first: `preserve` locks it too before adding a reference,
    so a new reference and this deletion cannot interleave.
    """
    blob = session.scalar(
        select(EvidenceBlob).where(EvidenceBlob.id == blob_id).with_for_update().execution_options(populate_existing=True)
    )
    if blob is None:
        return None
    if session.scalar(select(func.count()).select_from(EvidenceItem).where(EvidenceItem.blob_id == blob.id)):
        return None
    object_key = blob.object_key
    session.delete(blob)
    session.flush()
    txhooks.on_commit(session, lambda: store.delete(object_key))
    return object_key

