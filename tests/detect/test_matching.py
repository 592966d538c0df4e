"""Matching against banks: thresholds per bank, allow banks, disabled entries and banks, hot changes,
rotated and mirrored copies."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from bastion.banks import service
from bastion.clock import ManualClock
from bastion.matching import BruteForcePDQIndex, MIHPDQIndex
from bastion.matching.banked import BankMatcher
from bastion.media import hash_media
from tests.detect.images import jpeg


def _flip(pdq: str, bits: int) -> str:
    """`pdq` with its first `bits` bits inverted: a hash at exactly that distance."""
    value = int(pdq, 16) ^ ((1 << 256) - (1 << (256 - bits)) if bits else 0)
    return f"{value:064x}"


@pytest.fixture(params=["mih", "brute"])
def matcher(request: pytest.FixtureRequest, sessions: sessionmaker[Session], clock: ManualClock) -> BankMatcher:
    factory = MIHPDQIndex if request.param == "mih" else BruteForcePDQIndex
    return BankMatcher(sessions, clock, index_factory=factory, refresh_seconds=0)


def _bank(db: Session, clock: ManualClock, name: str, **kw: object):  # type: ignore[no-untyped-def]
    bank = service.create_bank(db, name=name, actor="t", clock=clock, **kw)  # type: ignore[arg-type]
    db.commit()
    return bank


def test_per_bank_thresholds(db: Session, clock: ManualClock, matcher: BankMatcher) -> None:
    base = hash_media(jpeg(1)).pdq
    strict, loose = _bank(db, clock, "STRICT", pdq_threshold=10), _bank(db, clock, "LOOSE", pdq_threshold=31)
    service.add_entry(db, strict, {"pdq": base}, actor="t", clock=clock)
    service.add_entry(db, loose, {"pdq": base}, actor="t", clock=clock)
    db.commit()
    for distance, expected in [(0, {"STRICT", "LOOSE"}), (10, {"STRICT", "LOOSE"}), (11, {"LOOSE"}),
                               (31, {"LOOSE"}), (32, set())]:
        outcome = matcher.match(db, {"pdq": _flip(base, distance)})
        assert {m.bank_name for m in outcome.matches} == expected, distance
        assert all(m.distance == distance for m in outcome.matches)


def test_allow_bank_suppresses_matches(db: Session, clock: ManualClock, matcher: BankMatcher) -> None:
    h = hash_media(jpeg(2))
    known, allow = _bank(db, clock, "KNOWN"), _bank(db, clock, "BENIGN", kind="allow")
    service.add_entry(db, known, {"pdq": h.pdq}, actor="t", clock=clock)
    db.commit()
    assert len(matcher.match(db, {"pdq": h.pdq}).matches) == 1
    service.add_entry(db, allow, {"md5": h.md5}, actor="t", clock=clock)
    db.commit()
    outcome = matcher.match(db, {"pdq": h.pdq, "md5": h.md5})
    assert outcome.matches == [] and [m.bank_name for m in outcome.allowed] == ["BENIGN"]
    assert [m.bank_name for m in outcome.suppressed] == ["KNOWN"]


def test_disabled_entries_and_banks_do_not_match(db: Session, clock: ManualClock, matcher: BankMatcher) -> None:
    h = hash_media(jpeg(3))
    bank = _bank(db, clock, "B")
    entry = service.add_entry(db, bank, {"pdq": h.pdq, "sha256": h.sha256}, actor="t", clock=clock).entry
    db.commit()
    assert len(matcher.match(db, {"pdq": h.pdq, "sha256": h.sha256}).matches) == 2
    service.set_entry_enabled(db, entry, False, actor="t", clock=clock)
    db.commit()
    assert matcher.match(db, {"pdq": h.pdq, "sha256": h.sha256}).matches == []
    service.set_entry_enabled(db, entry, True, actor="t", clock=clock)
    service.update_bank(db, bank, enabled=False, actor="t", clock=clock)
    db.commit()
    assert matcher.match(db, {"pdq": h.pdq}).matches == []


def test_additions_and_removals_take_effect_without_a_restart(db: Session, clock: ManualClock,
                                                              matcher: BankMatcher) -> None:
    matcher.load()
    bank = _bank(db, clock, "HOT")
    h = hash_media(jpeg(4))
    assert matcher.match(db, {"pdq": h.pdq}).matches == []
    entry = service.add_entry(db, bank, {"pdq": h.pdq}, actor="t", clock=clock).entry
    db.commit()
    assert [m.entry_id for m in matcher.match(db, {"pdq": _flip(h.pdq, 5)}).matches] == [entry.id]
    service.delete_entry(db, entry, actor="t", clock=clock)
    db.commit()
    assert matcher.match(db, {"pdq": h.pdq}).matches == []
    assert matcher.status().size == 0  # removed from the index too, not only filtered


def test_index_matches_brute_force_on_many_entries(db: Session, clock: ManualClock, matcher: BankMatcher) -> None:
    from bastion.banks import transfer

    rng = np.random.default_rng(7)
    values = [f"{int.from_bytes(rng.bytes(32), 'big'):064x}" for _ in range(3000)]
    bank = _bank(db, clock, "BULK")
    transfer.import_lines(db, bank, lambda: (f"pdq {v}" for v in values), "te", actor="t", clock=clock)
    queries = [_flip(values[i], i % 40) for i in range(0, 3000, 50)]
    outcomes = matcher.match_many(db, [({"pdq": q}, []) for q in queries])
    for i, outcome in zip(range(0, 3000, 50), outcomes):
        expected = i % 40 <= 31
        assert bool(outcome.matches) == expected, (i, i % 40)


def test_rotated_and_mirrored_copies_match_through_the_scan_api(client: TestClient,
                                                                platform_headers: dict[str, str]) -> None:
    client.post("/api/v1/banks", json={"name": "KNOWN"}, headers=platform_headers)
    original = hash_media(jpeg(5))
    client.post("/api/v1/banks/KNOWN/entries", json={"signals": {"pdq": original.pdq}}, headers=platform_headers)
    for alteration in ("rotated", "mirrored", "resized", "recompressed"):
        response = client.post("/api/v1/scan", files={"file": ("x.jpg", jpeg(5, alteration))}, headers=platform_headers)
        assert response.status_code == 200, response.text
        matches = response.json()["matches"]
        assert [m["bank"] for m in matches] == ["KNOWN"], alteration
        assert matches[0]["distance"] <= 16, alteration
    unrelated = client.post("/api/v1/scan", files={"file": ("y.jpg", jpeg(99))}, headers=platform_headers)
    assert unrelated.json()["matches"] == []


def test_a_malformed_stored_hash_is_skipped_not_fatal(db: Session, clock: ManualClock, matcher: BankMatcher) -> None:
    from sqlalchemy import text

    bank = _bank(db, clock, "B")
    good = hash_media(jpeg(6)).pdq
    service.add_entry(db, bank, {"pdq": good}, actor="t", clock=clock)
    entry = service.add_entry(db, bank, {"md5": "c" * 32}, actor="t", clock=clock).entry
    db.commit()
    db.execute(text("INSERT INTO entry_signals (entry_id, bank_id, signal_type, value) VALUES (:e, :b, 'pdq', 'zz')"),
               {"e": entry.id, "b": bank.id})
    db.commit()
    matcher.load()
    assert matcher.status().size == 1
    assert len(matcher.match(db, {"pdq": good}).matches) == 1


def test_snapshots_start_fast_and_catch_up_with_the_change_log(db: Session, clock: ManualClock, sessions,  # type: ignore[no-untyped-def]
                                                              tmp_path) -> None:
    path = tmp_path / "index" / "pdq.snapshot"
    writer = BankMatcher(sessions, clock, refresh_seconds=0, snapshot_path=path)
    bank = _bank(db, clock, "SNAP")
    first, second = hash_media(jpeg(11)).pdq, hash_media(jpeg(12)).pdq
    service.add_entry(db, bank, {"pdq": first}, actor="t", clock=clock)
    db.commit()
    writer.load()
    generation = writer.write_snapshot()
    assert path.exists() and generation == writer.status().last_change

    service.add_entry(db, bank, {"pdq": second}, actor="t", clock=clock)  # after the snapshot
    db.commit()
    reader = BankMatcher(sessions, clock, refresh_seconds=0, snapshot_path=path)
    reader.load()
    assert reader._snapshot_generation == generation  # started from the snapshot ...
    assert reader.status().size == 2  # ... and replayed the change logged after it
    assert len(reader.match(db, {"pdq": second}).matches) == 1

    path.write_bytes(path.read_bytes()[:100])  # a truncated snapshot is refused; the database is used
    fallback = BankMatcher(sessions, clock, refresh_seconds=0, snapshot_path=path)
    fallback.load()
    assert fallback.status().size == 2 and fallback._index.generation == 0  # type: ignore[union-attr]
