"""Proving the vault is intact: every object decrypts and hashes to what was preserved.

Problems are named (object key, SHA-256, the items that use it) so an operator can
restore exactly those objects. Orphans, stored objects no row references, are
listed separately: they are harmless leftovers of interrupted writes or deletions
(their data keys are gone), not integrity failures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.evidence import objects
from bastion.evidence.errors import BlobMissing, TamperedEvidence, VaultKeyError
from bastion.evidence.keys import KeyRing
from bastion.evidence.models import EvidenceBlob, EvidenceItem
from bastion.evidence.store import BlobStore

TAMPERED = "tampered"
MISSING = "missing"
KEY_UNAVAILABLE = "key_unavailable"
_READ_BYTES = 1 << 20  # objects are decrypted and hashed piece by piece, never whole


@dataclass(frozen=True)
class Problem:
    """One object that failed verification, and the evidence items that depend on it."""

    object_key: str
    sha256: str
    items: tuple[int, ...]
    kind: str  # tampered | missing | key_unavailable
    detail: str


@dataclass
class VerifyReport:
    objects: int = 0
    ok: int = 0
    problems: list[Problem] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(session: Session, *, store: BlobStore, keys: KeyRing, orphans: bool = True, batch: int = 200) -> VerifyReport:
    """Decrypt and hash every object; with `orphans`, also list stored objects nothing references."""
    report = VerifyReport()
    known: set[str] = set()
    for blobs in _batches(session, batch):
        users = _items_of(session, [blob.id for blob in blobs])
        for blob in blobs:
            report.objects += 1
            known.add(blob.object_key)
            problem = _check(blob, store, keys)
            if problem is None:
                report.ok += 1
            else:
                kind, detail = problem
                report.problems.append(Problem(blob.object_key, blob.sha256, users[blob.id], kind, detail))
    if orphans:
        report.orphans = sorted(key for key in store.keys() if key not in known)
    return report


def _check(blob: objects.Sealed, store: BlobStore, keys: KeyRing) -> tuple[str, str] | None:
    try:
        with objects.open_reader(blob, store=store, keys=keys) as reader:
            while reader.read(_READ_BYTES):
                pass
    except BlobMissing as exc:
        return MISSING, exc.message
    except TamperedEvidence as exc:
        return TAMPERED, exc.message
    except VaultKeyError as exc:
        return KEY_UNAVAILABLE, exc.message
    return None


def _batches(session: Session, size: int) -> Iterator[Sequence[Any]]:
    """Blob rows as plain column tuples, so a long walk never fills the session's identity map."""
    columns = (EvidenceBlob.id, EvidenceBlob.sha256, EvidenceBlob.object_key, EvidenceBlob.key_id,
               EvidenceBlob.wrapped_key, EvidenceBlob.size)
    last = 0
    while True:
        rows = list(session.execute(select(*columns).where(EvidenceBlob.id > last).order_by(EvidenceBlob.id).limit(size)))
        if not rows:
            return
        yield rows
        last = rows[-1].id


def _items_of(session: Session, blob_ids: list[int]) -> dict[int, tuple[int, ...]]:
    found: dict[int, list[int]] = defaultdict(list)
    for blob_id, item_id in session.execute(
        select(EvidenceItem.blob_id, EvidenceItem.id).where(EvidenceItem.blob_id.in_(blob_ids)).order_by(EvidenceItem.id)
    ):
        if blob_id is not None:
            found[blob_id].append(item_id)
    return {blob_id: tuple(found[blob_id]) for blob_id in blob_ids}
