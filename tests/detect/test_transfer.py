"""Import and export of hash lists: streamed, bad lines named, atomic when asked, round trip."""

from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import func, select, text

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from bastion.banks import service, transfer
from bastion.banks.errors import ImportRejected
from bastion.banks.models import BankEntry, EntrySignal, SignalChange
from bastion.audit.models import AuditRecord
from bastion.clock import ManualClock

PDQ = "{:064x}"


def _bank(db: Session, clock: ManualClock, name: str = "LIST") -> object:
    bank = service.create_bank(db, name=name, actor="t", clock=clock)
    db.commit()
    return bank


def test_te_import_reports_bad_lines_and_keeps_good_ones(db: Session, clock: ManualClock) -> None:
    bank = _bank(db, clock)
    lines = ["# a comment", "pdq " + PDQ.format(1), "md5 " + "a" * 32, "pdq nothex", "video_md5 " + "b" * 32,
             "pdq " + PDQ.format(1), "justoneword", "", "sha256 " + "c" * 64, "vimeo " + "d" * 32]
    report = transfer.import_lines(db, bank, lambda: iter(lines), "te", actor="t", clock=clock)
    assert report.imported == 4 and report.duplicates == 1  # video_md5 (a file's MD5) is stored as md5
    assert [e.line for e in report.errors] == [4, 7, 10]
    assert "not a valid pdq hash" in report.errors[0].message
    assert "Unknown signal type 'vimeo'" in report.errors[2].message


def test_reimport_is_a_no_op(db: Session, clock: ManualClock) -> None:
    bank = _bank(db, clock)
    lines = [f"pdq {PDQ.format(i)}" for i in range(10)]
    assert transfer.import_lines(db, bank, lambda: iter(lines), "te", actor="t", clock=clock).imported == 10
    again = transfer.import_lines(db, bank, lambda: iter(lines), "te", actor="t", clock=clock)
    assert again.imported == 0 and again.duplicates == 10


def test_atomic_import_rejects_the_whole_file(db: Session, clock: ManualClock) -> None:
    bank = _bank(db, clock)
    lines = [f"pdq {PDQ.format(i)}" for i in range(5)] + ["pdq zz"]
    try:
        transfer.import_lines(db, bank, lambda: iter(lines), "te", actor="t", clock=clock, atomic=True)
    except ImportRejected as exc:
        assert "line 6" in exc.message
    else:
        raise AssertionError("atomic import accepted a bad file")
    assert service.entry_counts(db).get(bank.id, 0) == 0  # type: ignore[attr-defined]


def test_import_streams_in_batches(db: Session, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """A one-shot generator is read once, in order, and written batch by batch (never held whole)."""
    monkeypatch.setattr(transfer, "BATCH", 500)
    bank = _bank(db, clock)
    total = transfer.BATCH * 3 + 17
    consumed = []

    def lines():  # type: ignore[no-untyped-def]
        for i in range(total):
            consumed.append(i)
            yield f"pdq {PDQ.format(i + 1)}\n"

    progress: list[int] = []
    source = lines()
    report = transfer.import_lines(db, bank, lambda: source, "te", actor="t", clock=clock, progress=progress.append)
    assert report.imported == total and len(consumed) == total
    assert len(progress) >= 4 and progress == sorted(progress)


def test_bulk_ids_pair_each_signal_with_its_own_entry(db: Session, clock: ManualClock,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Reserved ids (no RETURNING) keep every line's entry, signal and change-log row together,
    across batches, beside rows written the ordinary way before and after."""
    monkeypatch.setattr(transfer, "BATCH", 7)
    bank = _bank(db, clock)
    before = service.add_entry(db, bank, {"md5": "e" * 32}, actor="t", clock=clock, external_id="before").entry
    db.commit()
    csv_text = "signal_type,value,external_id\n" + "".join(
        f"pdq,{PDQ.format(i + 1)},ext-{i}\n" for i in range(30)) + "md5," + "f" * 32 + ",ext-md5\n"
    report = transfer.import_lines(db, bank, lambda: io.StringIO(csv_text), "csv", actor="t", clock=clock)
    after = service.add_entry(db, bank, {"sha256": "a" * 64}, actor="t", clock=clock, external_id="after").entry
    db.commit()
    assert report.imported == 31
    rows = db.execute(select(EntrySignal.id, EntrySignal.value, BankEntry.id, BankEntry.external_id)
                      .join(BankEntry, BankEntry.id == EntrySignal.entry_id)
                      .where(EntrySignal.bank_id == bank.id)).all()  # type: ignore[attr-defined]
    by_value = {value: external for _, value, _, external in rows}
    assert all(by_value[PDQ.format(i + 1)] == f"ext-{i}" for i in range(30))
    assert by_value["f" * 32] == "ext-md5" and by_value["a" * 64] == "after" and by_value["e" * 32] == "before"
    assert len({entry_id for _, _, entry_id, _ in rows}) == 33 and after.id > before.id
    logged = dict(db.execute(select(SignalChange.signal_id, SignalChange.value)).all())
    pdq_signals = {signal_id: value for signal_id, value, _, _ in rows if len(value) == 64 and value != "a" * 64}
    assert logged == pdq_signals


def test_csv_round_trip(db: Session, clock: ManualClock) -> None:
    bank = _bank(db, clock)
    csv_text = ("signal_type,value,external_id,source,classification,note\n"
                f"pdq,{PDQ.format(7)},ext-7,industry,A1,\"with, comma\"\n"
                "md5,not-a-hash,ext-8,industry,A2,\n")
    report = transfer.import_lines(db, bank, lambda: io.StringIO(csv_text), "csv", actor="t", clock=clock)
    assert report.imported == 1 and report.errors[0].line == 3
    exported = "".join(transfer.export_lines(db, bank, "csv"))  # type: ignore[arg-type]
    assert "ext-7" in exported and '"with, comma"' in exported
    other = _bank(db, clock, "COPY")
    again = transfer.import_lines(db, other, lambda: io.StringIO(exported), "csv", actor="t", clock=clock)
    assert again.imported == 1
    te = "".join(transfer.export_lines(db, bank, "te"))  # type: ignore[arg-type]
    assert te == f"pdq {PDQ.format(7)}\n"


def test_csv_without_the_right_header(db: Session, clock: ManualClock) -> None:
    bank = _bank(db, clock)
    report = transfer.import_lines(db, bank, lambda: io.StringIO("a,b\n1,2\n"), "csv", actor="t", clock=clock)
    assert report.imported == 0 and "header" in report.errors[0].message


def test_import_and_export_over_http(client: TestClient, platform_headers: dict[str, str]) -> None:
    client.post("/api/v1/banks", json={"name": "UP"}, headers=platform_headers)
    body = "".join(f"pdq {PDQ.format(i)}\n" for i in range(1, 51)) + "pdq bad\n"
    response = client.post("/api/v1/banks/UP/import", files={"file": ("list.txt", body.encode())},
                           data={"format": "te"}, headers=platform_headers)
    assert response.status_code == 200, response.text
    assert response.json()["imported"] == 50 and response.json()["errors"] == [
        {"line": 51, "message": response.json()["errors"][0]["message"]}]
    exported = client.get("/api/v1/banks/UP/export?format=te", headers=platform_headers)
    assert exported.status_code == 200 and exported.text.count("\n") == 50
    atomic = client.post("/api/v1/banks/UP/import", files={"file": ("list.txt", b"pdq nope\n")},
                         data={"format": "te", "atomic": "true"}, headers=platform_headers)
    assert atomic.status_code == 422 and atomic.json()["code"] == "import_rejected"


def test_a_nul_in_a_lines_text_refuses_that_line_and_keeps_the_rest(db: Session, clock: ManualClock) -> None:
    bank = _bank(db, clock)
    csv_lines = ["signal_type,value,external_id,source,classification,note",
                 f"pdq,{PDQ.format(7)},ext-7,industry,A1,fine", f"md5,{'d' * 32},ext-8,industry,B2,bad\x00note"]
    report = transfer.import_lines(db, bank, lambda: iter(csv_lines), "csv", actor="t", clock=clock)
    assert report.imported == 1 and [e.line for e in report.errors] == [3] and "NUL" in report.errors[0].message
    assert db.scalars(select(BankEntry)).one().external_id == "ext-7"


def _stored(db: Session, bank_id: int) -> list[tuple[object, ...]]:
    """Everything an import writes for a bank, id-free, in file order (raw stored values, not the ORM's)."""
    rows = db.execute(text(
        "SELECT e.external_id, e.source, e.classification, e.note, e.metadata_json, e.enabled, "
        "CAST(e.added_at AS TEXT), e.added_by, s.signal_type, s.value, "
        "(SELECT COUNT(*) FROM signal_changes c WHERE c.signal_id = s.id AND c.op = 'add' AND c.value = s.value) "
        "FROM entry_signals s JOIN bank_entries e ON e.id = s.entry_id WHERE s.bank_id = :b ORDER BY s.id"),
        {"b": bank_id}).all()
    return [tuple(r) for r in rows]


def test_fast_sqlite_path_writes_what_the_orm_path_writes(db: Session, clock: ManualClock,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The driver-level insert (SQLite) stores the same values, timestamps included, as SQLAlchemy's."""
    monkeypatch.setattr(transfer, "BATCH", 4)
    csv_text = ("signal_type,value,external_id,source,classification,note\n"
                + "".join(f"pdq,{PDQ.format(i + 1)},ext-{i},src,A1,note {i}\n" for i in range(9))
                + "md5," + "f" * 32 + ",x,,,\n" + "pdq," + PDQ.format(3) + ",dup,,,\n")
    fast, slow = _bank(db, clock, "FAST"), _bank(db, clock, "SLOW")
    a = transfer.import_lines(db, fast, lambda: io.StringIO(csv_text), "csv", actor="t", clock=clock)
    monkeypatch.setattr(transfer, "_write_rows_sqlite", transfer._write_rows)
    b = transfer.import_lines(db, slow, lambda: io.StringIO(csv_text), "csv", actor="t", clock=clock)
    assert (a.imported, a.duplicates) == (b.imported, b.duplicates) == (10, 1)
    stored = _stored(db, fast.id)  # type: ignore[attr-defined]
    assert stored == _stored(db, slow.id)  # type: ignore[attr-defined]
    assert {(r[8], r[-1]) for r in stored} == {("pdq", 1), ("md5", 0)}  # a change-log row per PDQ signal only
    entry = db.scalars(select(BankEntry).where(BankEntry.bank_id == fast.id)).first()  # type: ignore[attr-defined]
    assert entry is not None and entry.added_at == clock.now()


def test_import_interrupted_mid_file_is_consistent_and_resumable(db: Session, clock: ManualClock,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Resumable, not all-or-nothing: each batch commits whole (entries, signals, change log
    together), so a crash leaves whole batches; importing the same file again adds the rest,
    counts the committed lines as already present, and writes the one audit record."""
    monkeypatch.setattr(transfer, "BATCH", 10)
    bank = _bank(db, clock)
    lines = [f"pdq {PDQ.format(i + 1)}\n" for i in range(35)]

    def crash(done: int) -> None:
        if done >= 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        transfer.import_lines(db, bank, lambda: iter(lines), "te", actor="t", clock=clock, progress=crash)
    db.rollback()
    counts = [db.scalar(select(func.count()).select_from(t)) for t in (BankEntry, EntrySignal, SignalChange)]
    assert counts == [20, 20, 20]
    assert _stored(db, bank.id) and all(r[-1] == 1 for r in _stored(db, bank.id))  # type: ignore[attr-defined]
    assert db.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "bank.import")) == 0

    report = transfer.import_lines(db, bank, lambda: iter(lines), "te", actor="t", clock=clock)
    assert (report.imported, report.duplicates) == (15, 20)
    values = db.scalars(select(EntrySignal.value).where(EntrySignal.bank_id == bank.id)).all()  # type: ignore[attr-defined]
    assert sorted(values) == sorted(line.split()[1] for line in lines)
    assert db.scalar(select(func.count()).select_from(SignalChange)) == 35
    assert db.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "bank.import")) == 1


def test_te_fast_path_agrees_with_the_full_check() -> None:
    """Plain lines take a shortcut in `_parse_te`; every line gives what `normalise` gives."""
    good = PDQ.format(0xABC)
    lines = [f"pdq {good}", f"PDQ  {good.upper()}", f"pdq\t{good}", f"pdq {good[:-1]}", f"pdq {good}0",
             "md5 " + "A" * 32, "sha1 " + "b" * 40, "sha256 " + "c" * 63, "md5 " + "g" * 32]
    items = list(transfer.parse(lines, "te"))
    rows = [(i.line, i.signal_type, i.value) for i in items if isinstance(i, transfer.Row)]
    assert rows == [(1, "pdq", good), (2, "pdq", good), (3, "pdq", good), (6, "md5", "a" * 32), (7, "sha1", "b" * 40)]
    assert [i.line for i in items if isinstance(i, transfer.LineError)] == [4, 5, 8, 9]


def test_vpdq_signals_round_trip_in_python_threatexchanges_format(db: Session, clock: ManualClock) -> None:
    """A video's vPDQ line (python-threatexchange's signal string) is imported whole and exported as it came."""
    from threatexchange.extensions.vpdq.vpdq import VPDQSignal
    from threatexchange.extensions.vpdq.vpdq_util import VpdqCompactFeature, json_to_vpdq, vpdq_to_json

    example = VPDQSignal.get_examples()[0]
    other = vpdq_to_json([VpdqCompactFeature(PDQ.format(i + 1), 90 - i % 60, i * 1.5) for i in range(300)])
    assert len(other) > 128  # longer than any other stored value
    bank = _bank(db, clock)
    lines = [f"vpdq {example}", f"vpdq {other}", "md5 " + "a" * 32, f"vpdq {example}", 'vpdq ["nothex,100,0.0"]']
    report = transfer.import_lines(db, bank, lambda: iter(lines), "te", actor="t", clock=clock)
    assert (report.imported, report.duplicates, [e.line for e in report.errors]) == (3, 1, [5])
    assert "invalid vPDQ feature" in report.errors[0].message
    exported = list(transfer.export_lines(db, bank, "te"))
    videos = [line.split(" ", 1)[1].rstrip("\n") for line in exported if line.startswith("vpdq ")]
    assert sorted(videos) == sorted([example, other])
    assert [[str(f) for f in json_to_vpdq(v)] for v in videos if v != example] == [json.loads(other)]
    assert all(VPDQSignal.validate_signal_str(v) for v in videos)
    # into another bank, and through CSV (the signal string quoted as one cell)
    again = _bank(db, clock, "COPY")
    assert transfer.import_lines(db, again, lambda: iter(exported), "te", actor="t", clock=clock).imported == 3
    csv_lines = list(transfer.export_lines(db, again, "csv"))
    third = _bank(db, clock, "THIRD")
    assert transfer.import_lines(db, third, lambda: iter(csv_lines), "csv", actor="t", clock=clock).imported == 3
    assert sorted(transfer.export_lines(db, third, "te")) == sorted(exported)
    logged = db.scalars(select(SignalChange.signal_type).where(SignalChange.signal_type == "vpdq")).all()
    assert len(logged) == 6  # every banked video is in the change log, so every index learns of it
