"""The domain services the HMA API, the scan API and the pages share, called directly."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.audit.models import AuditRecord
from bastion.banks import service, stats
from bastion.banks.errors import EntryNotFound
from bastion.clock import ManualClock
from bastion.media import DEFAULT_LIMITS, MD5, PDQ, hash_media
from bastion.scanning.signals import MIN_PDQ_QUALITY, file_signals
from tests.detect.images import jpeg


def _entry(db: Session, clock: ManualClock, bank_name: str = "B", seed: int = 1):  # type: ignore[no-untyped-def]
    bank = service.create_bank(db, name=bank_name, actor="t", clock=clock)
    hashes = hash_media(jpeg(seed))
    entry = service.add_entry(db, bank, {PDQ: hashes.pdq, MD5: hashes.md5}, actor="t", clock=clock,
                              metadata={"content_id": "c-1"}).entry
    db.commit()
    return bank, entry


def test_entries_beyond_the_id_range_are_not_found(db: Session, clock: ManualClock) -> None:
    bank, entry = _entry(db, clock)
    assert service.get_entry(db, entry.id, bank) is entry
    for impossible in (2**63, 2**70, 0, -1):
        with pytest.raises(EntryNotFound):
            service.get_entry(db, impossible, bank)
    other = service.create_bank(db, name="OTHER", actor="t", clock=clock)
    with pytest.raises(EntryNotFound):
        service.get_entry(db, entry.id, other)


def test_a_note_is_audited_only_when_it_changes(db: Session, clock: ManualClock) -> None:
    _, entry = _entry(db, clock)
    service.set_entry_note(db, entry, "seen in report 7", actor="alice", clock=clock)
    service.set_entry_note(db, entry, "seen in report 7", actor="alice", clock=clock)
    db.commit()
    notes = db.scalars(select(AuditRecord).where(AuditRecord.action == "bank.entry_note")).all()
    assert entry.note == "seen in report 7" and len(notes) == 1 and audit.details_of(notes[0]) == {"bank": "B"}
    assert service.entry_metadata(entry) == {"content_id": "c-1"}
    entry.metadata_json = "[1, 2]"
    assert service.entry_metadata(entry) is None


def test_bank_counts(db: Session, clock: ManualClock) -> None:
    assert stats.signal_stats(db, MD5) == (0, None) and stats.newest_change(db) == 0
    bank, _ = _entry(db, clock)
    clock.advance(timedelta(minutes=5))
    _entry(db, clock, "C", seed=2)
    count, newest = stats.signal_stats(db, MD5)
    assert count == 2 and newest == clock.now()
    assert stats.signal_count(db, PDQ) == 2
    seq = stats.newest_change(db)
    assert seq > 0 and stats.change_time(db, seq) == clock.now() and stats.change_time(db, 0) is None
    service.delete_bank(db, bank, actor="t", clock=clock)
    assert stats.signal_stats(db, MD5)[0] == 1  # deleted banks do not count
    assert service.matching_ratios(db, {bank.id}) == {bank.id: 1.0} and service.matching_ratios(db, set()) == {}


def test_file_signals_follow_the_scan_rule() -> None:
    photo = file_signals(jpeg(3), DEFAULT_LIMITS, dihedral=True)
    assert photo.values[PDQ] == hash_media(jpeg(3)).pdq and len(photo.pdq_variants) == 8
    digests = file_signals(b"not an image at all", DEFAULT_LIMITS, decode=False)
    assert PDQ not in digests.values and len(digests.values[MD5]) == 32 and digests.pdq_variants == ()
    flat = io.BytesIO()
    Image.new("RGB", (64, 64), (128, 128, 128)).save(flat, "PNG")
    assert hash_media(flat.getvalue()).pdq_quality < MIN_PDQ_QUALITY
    poor = file_signals(flat.getvalue(), DEFAULT_LIMITS, dihedral=True)
    assert poor.values[PDQ] == "" and poor.pdq_variants == ()


def test_recent_audit_records_newest_first(db: Session, clock: ManualClock) -> None:
    for n in range(3):
        audit.record(db, actor="t", action="test.a" if n != 1 else "test.b", subject=f"s:{n}", clock=clock)
    db.commit()
    assert [r.subject for r in audit.recent(db, limit=10)][:3] == ["s:2", "s:1", "s:0"]
    newest = audit.recent(db, limit=1)[0]
    assert [r.subject for r in audit.recent(db, limit=10, before=newest.seq, action="test.a")] == ["s:0"]
