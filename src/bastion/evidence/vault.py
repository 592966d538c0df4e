"""The vault's service API: preserve, read, export and disclose evidence, with custody for each act.

Every method works in the caller's session and transaction, and records custody and
audit in it, so the act and its record commit together. Commit after `open` and
`export` too: the bytes are handed out at once, and only the commit makes the
"view"/"export" entry permanent.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.clock import Clock
from bastion.evidence import custody, envelope, holds, objects, purge, retention
from bastion.evidence.errors import EvidenceNotFound, EvidencePurged, InvalidEvidence
from bastion.evidence.extract import examine
from bastion.evidence.keys import KeyRing, MasterKey
from bastion.evidence.models import (
    PURGED,
    CustodyEvent,
    EvidenceBlob,
    EvidenceItem,
    LegalHold,
    RetentionApplied,
)
from bastion.evidence.store import BlobStore
from bastion.evidence.verify import VerifyReport
from bastion.evidence.verify import verify as verify_objects

KINDS = ("media", "account_snapshot", "content_snapshot", "document", "message", "log", "other")
DEFAULT_MAX_BYTES = 1 << 30
PURGE_ACTOR = "system:evidence.purge"
_PDQ = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ExportedEvidence:
    """Bytes leaving the vault, with a manifest to travel with them (hashes, provenance, custody)."""

    item_id: int
    data: bytes
    manifest: dict[str, Any]


@dataclass(frozen=True)
class ExportedStream:
    """Like `ExportedEvidence`, with the bytes as a seekable reader to copy out piece by piece (then close it)."""

    item_id: int
    reader: BinaryIO
    size: int
    manifest: dict[str, Any]


@dataclass(frozen=True)
class RotationReport:
    new_key_id: str
    rewrapped: int
    from_keys: dict[str, int]


class Vault:
    """Encrypted, content-addressed evidence with chain of custody, retention and legal holds.

    `keys` seals new objects with its current key and opens objects sealed with any key
    it holds; `store` holds the sealed objects; `clock` timestamps every act;
    `chunk_bytes` is the unit of encryption, so of memory, when streaming.
    """

    def __init__(self, store: BlobStore, keys: KeyRing | MasterKey, clock: Clock, *,
                 max_bytes: int = DEFAULT_MAX_BYTES, chunk_bytes: int = envelope.DEFAULT_CHUNK_BYTES) -> None:
        self.store = store
        self.keys = keys if isinstance(keys, KeyRing) else KeyRing(keys)
        self.clock = clock
        self.max_bytes = max_bytes
        self.chunk_bytes = envelope.check_chunk_bytes(chunk_bytes)

    # -- preserving and reading ---------------------------------------------------------------

    def preserve(
        self,
        session: Session,
        data: bytes | BinaryIO,
        *,
        kind: str,
        subject: str,
        actor: str,
        reason: str,
        metadata: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        pdq: str | None = None,
    ) -> EvidenceItem:
        """Seal and store `data` as a new evidence item about `subject`.

        `metadata` is what came with the upload (file name, uploader, time, address);
        `context` is why it is kept (case, decision, report). Identical bytes share one
        stored object; each preservation is still its own item with its own custody.
        A file object is streamed: read, digested and sealed `chunk_bytes` at a time,
        so a large video is never whole in memory.
        """
        if kind not in KINDS:
            raise InvalidEvidence(f"Evidence kind {kind!r} is not one of {', '.join(KINDS)}.")
        holds.check_subject(subject)
        _require(actor=actor, reason=reason)
        if pdq is not None and not _PDQ.fullmatch(pdq.lower()):
            raise InvalidEvidence("A PDQ hash is 64 hexadecimal characters.")
        metadata_json, context_json = _dumps(metadata), _dumps(context)
        if isinstance(data, bytes | bytearray | memoryview):
            payload = self._read_input(data)
            facts = examine(payload)
            blob = objects.store_once(session, payload, facts.sha256, store=self.store, keys=self.keys,
                                      clock=self.clock, chunk_bytes=self.chunk_bytes)
        else:
            blob, facts = objects.store_stream(session, self._pieces(data), store=self.store, keys=self.keys,
                                               clock=self.clock, chunk_bytes=self.chunk_bytes,
                                               max_bytes=self.max_bytes)
        shared = session.scalar(select(EvidenceItem.id).where(EvidenceItem.blob_id == blob.id).limit(1)) is not None
        item = EvidenceItem(
            blob_id=blob.id, kind=kind, subject=subject, sha256=facts.sha256, md5=facts.md5, sha1=facts.sha1,
            pdq=(pdq or "").lower(), size=facts.size, content_type=facts.content_type,
            metadata_json=metadata_json, context_json=context_json, exif_json=_dumps(facts.exif),
            preserved_at=self.clock.now(), preserved_by=actor,
        )
        session.add(item)
        session.flush()
        custody.record(session, [item], action=custody.STORE, actor=actor, reason=reason, clock=self.clock,
                       details={"sha256": facts.sha256, "size": facts.size, "kind": kind, "subject": subject,
                                "content_type": facts.content_type, "deduplicated": shared})
        return item

    def get(self, session: Session, item_id: int) -> EvidenceItem:
        """An item's record (preserved or tombstone); reading it is not a custody event, opening is."""
        item = session.get(EvidenceItem, item_id)
        if item is None:
            raise EvidenceNotFound(f"No evidence item {item_id}.")
        return item

    def items_about(self, session: Session, subject: str) -> list[EvidenceItem]:
        return list(session.scalars(select(EvidenceItem).where(EvidenceItem.subject == subject).order_by(EvidenceItem.id)))

    def open(self, session: Session, item_id: int, *, actor: str, reason: str) -> bytes:
        """The item's bytes, proven unchanged, with a custody "view" for who read them and why."""
        item, data = self._read_item(session, item_id, actor=actor, reason=reason)
        custody.record(session, [item], action=custody.VIEW, actor=actor, reason=reason, clock=self.clock,
                       details={"sha256": item.sha256})
        return data

    def open_stream(self, session: Session, item_id: int, *, actor: str, reason: str) -> BinaryIO:
        """Like `open`, as a seekable reader decrypting one chunk at a time; close it when done.

        Read to the end, it proves the bytes unchanged (each chunk authenticates as it
        is read; the SHA-256 is checked before the last bytes are handed out).
        """
        item, reader = self._reader(session, item_id, actor=actor, reason=reason)
        custody.record(session, [item], action=custody.VIEW, actor=actor, reason=reason, clock=self.clock,
                       details={"sha256": item.sha256, "streamed": True})
        return reader

    def export_stream(self, session: Session, item_id: int, *, actor: str, reason: str,
                      destination: str) -> ExportedStream:
        """Like `export`, streamed: for video going into a production package or an upload."""
        if not destination.strip():
            raise InvalidEvidence("An export must say where the evidence goes (e.g. 'production package 14').")
        item, reader = self._reader(session, item_id, actor=actor, reason=reason)
        custody.record(session, [item], action=custody.EXPORT, actor=actor, reason=reason, clock=self.clock,
                       details={"sha256": item.sha256, "destination": destination, "streamed": True})
        return ExportedStream(item.id, reader, item.size, self.manifest(session, item))

    def export(self, session: Session, item_id: int, *, actor: str, reason: str, destination: str) -> ExportedEvidence:
        """The bytes and a manifest for a production package or report; custody records where they went."""
        if not destination.strip():
            raise InvalidEvidence("An export must say where the evidence goes (e.g. 'production package 14').")
        item, data = self._read_item(session, item_id, actor=actor, reason=reason)
        custody.record(session, [item], action=custody.EXPORT, actor=actor, reason=reason, clock=self.clock,
                       details={"sha256": item.sha256, "destination": destination})
        return ExportedEvidence(item.id, data, self.manifest(session, item))

    def record_disclosure(
        self, session: Session, item_id: int, *, actor: str, reason: str, recipient: str, reference: str = ""
    ) -> CustodyEvent:
        """Record that the item (or its hashes or a copy) was disclosed to `recipient` (NCMEC, a court, police).

        `reference` is the recipient's or our identifier, e.g. a CyberTipline report id.
        """
        _require(actor=actor, reason=reason)
        if not recipient.strip():
            raise InvalidEvidence("A disclosure must name its recipient.")
        item = self.get(session, item_id)
        [event] = custody.record(session, [item], action=custody.DISCLOSE, actor=actor, reason=reason,
                                 clock=self.clock, details={"sha256": item.sha256, "recipient": recipient,
                                                            "reference": reference, "status": item.status})
        return event

    def custody(self, session: Session, item_id: int) -> list[CustodyEvent]:
        self.get(session, item_id)
        return custody.history(session, item_id)

    def manifest(self, session: Session, item: EvidenceItem) -> dict[str, Any]:
        """Everything known about an item except its bytes, custody included."""
        return {
            "item": item.id, "status": item.status, "kind": item.kind, "subject": item.subject,
            "sha256": item.sha256, "md5": item.md5, "sha1": item.sha1, "pdq": item.pdq or None, "size": item.size,
            "content_type": item.content_type, "preserved_at": item.preserved_at.isoformat(),
            "preserved_by": item.preserved_by, "metadata": json.loads(item.metadata_json),
            "context": json.loads(item.context_json), "exif": json.loads(item.exif_json),
            "retention_until": item.retention_until.isoformat() if item.retention_until else None,
            "custody": [
                {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "reason": e.reason,
                 "details": json.loads(e.details_json), "audit_seq": e.audit_seq}
                for e in custody.history(session, item.id)
            ],
        }

    # -- retention and holds --------------------------------------------------------------------

    def apply_retention(self, session: Session, item_id: int, policy_key: str, *, from_time: datetime, actor: str,
                        reason: str = "") -> RetentionApplied:
        return retention.apply_retention(session, item_id, policy_key, from_time=from_time, actor=actor,
                                         reason=reason or f"retention policy {policy_key}", clock=self.clock)

    def place_hold(self, session: Session, *, reason: str, actor: str, subject: str | None = None,
                   item_id: int | None = None, reference: str = "") -> LegalHold:
        return holds.place_hold(session, subject=subject, item_id=item_id, reason=reason, actor=actor,
                                clock=self.clock, reference=reference)

    def release_hold(self, session: Session, hold_id: int, *, reason: str, actor: str) -> LegalHold:
        return holds.release_hold(session, hold_id, reason=reason, actor=actor, clock=self.clock)

    def purge_expired(self, session: Session, now: datetime | None = None, *, actor: str = PURGE_ACTOR,
                      limit: int = purge.BATCH) -> purge.PurgeReport:
        return purge.purge_expired(session, store=self.store, now=now or self.clock.now(), actor=actor,
                                   clock=self.clock, limit=limit)

    def purge_item(self, session: Session, item_id: int, *, actor: str, reason: str) -> purge.PurgeReport:
        _require(actor=actor, reason=reason)
        return purge.purge_item(session, item_id, store=self.store, actor=actor, reason=reason, clock=self.clock)

    # -- keys and integrity ---------------------------------------------------------------------

    def check_keys(self, session: Session) -> None:
        """Raise VaultKeyError now, rather than on first read, if any object needs a key the vault lacks."""
        for key_id in session.scalars(select(EvidenceBlob.key_id).distinct().order_by(EvidenceBlob.key_id)):
            self.keys.get(key_id)

    def rotate_key(self, session: Session, new_master: MasterKey, *, actor: str, reason: str,
                   batch: int = 500) -> RotationReport:
        """Re-wrap every data key under `new_master` (blobs stay as they are), audited.

        Re-running finishes an interrupted rotation: objects already on the new key
        are skipped. From now on this vault seals with the new key.
        """
        _require(actor=actor, reason=reason)
        self.check_keys(session)
        counts: Counter[str] = Counter()
        last = 0
        while True:
            blobs = session.scalars(
                select(EvidenceBlob).where(EvidenceBlob.key_id != new_master.key_id, EvidenceBlob.id > last)
                .order_by(EvidenceBlob.id).limit(batch).with_for_update()
            ).all()
            if not blobs:
                break
            for blob in blobs:
                counts[blob.key_id] += 1
                objects.rewrap(blob, keys=self.keys, new=new_master)
            session.flush()
            last = blobs[-1].id
        self.keys = self.keys.rotated_to(new_master)
        report = RotationReport(new_master.key_id, sum(counts.values()), dict(counts))
        audit.record(session, actor=actor, action="evidence.key.rotate", subject=f"evidence_key:{new_master.key_id}",
                     details={"from": report.from_keys, "rewrapped": report.rewrapped, "reason": reason},
                     clock=self.clock)
        return report

    def verify(self, session: Session, *, actor: str = "system:evidence.verify",
               orphans: bool = True) -> VerifyReport:
        """Decrypt and hash every stored object; the run and its outcome are audited."""
        report = verify_objects(session, store=self.store, keys=self.keys, orphans=orphans)
        audit.record(session, actor=actor, action="evidence.verify", subject="evidence:vault", clock=self.clock,
                     details={"objects": report.objects, "ok": report.ok, "orphans": len(report.orphans),
                              "problems": [[p.kind, p.object_key] for p in report.problems[:100]]})
        return report

    # -- internals ------------------------------------------------------------------------------

    def _read_input(self, data: bytes | BinaryIO) -> bytes:
        payload = data if isinstance(data, bytes | bytearray | memoryview) else data.read(self.max_bytes + 1)
        payload = bytes(payload)
        if len(payload) > self.max_bytes:
            raise InvalidEvidence(f"Evidence larger than {self.max_bytes} bytes cannot be preserved by this vault.")
        return payload

    def _pieces(self, source: BinaryIO) -> Iterator[bytes]:
        while True:
            piece = source.read(self.chunk_bytes)
            if not piece:
                return
            yield bytes(piece)

    def _blob_of(self, session: Session, item_id: int, *, actor: str, reason: str) -> tuple[EvidenceItem, EvidenceBlob]:
        _require(actor=actor, reason=reason)
        item = self.get(session, item_id)
        if item.status == PURGED or item.blob_id is None:
            raise EvidencePurged(
                f"Evidence item {item_id} was purged at the end of its retention; only its hashes and custody remain."
            )
        blob = session.get(EvidenceBlob, item.blob_id)
        assert blob is not None  # the foreign key guarantees it
        return item, blob

    def _read_item(self, session: Session, item_id: int, *, actor: str, reason: str) -> tuple[EvidenceItem, bytes]:
        item, blob = self._blob_of(session, item_id, actor=actor, reason=reason)
        return item, objects.read(blob, store=self.store, keys=self.keys)

    def _reader(self, session: Session, item_id: int, *, actor: str, reason: str) -> tuple[EvidenceItem, BinaryIO]:
        item, blob = self._blob_of(session, item_id, actor=actor, reason=reason)
        return item, objects.open_reader(blob, store=self.store, keys=self.keys)


def _require(*, actor: str, reason: str) -> None:
    if not actor.strip():
        raise InvalidEvidence("Every act on evidence needs an actor.")
    if not reason.strip():
        raise InvalidEvidence("Every act on evidence needs a reason; it goes into the chain of custody.")


def _dumps(value: dict[str, Any] | None) -> str:
    """JSON of caller metadata; times become ISO 8601, anything else non-JSON is refused, not guessed at."""
    try:
        return json.dumps(value or {}, sort_keys=True, ensure_ascii=False, default=_iso)
    except (TypeError, ValueError) as exc:
        raise InvalidEvidence(f"Evidence metadata must be JSON: {exc}.") from None


def _iso(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
