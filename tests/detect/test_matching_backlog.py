"""A long change-log backlog (a bulk import) never makes a query wait, and is not replayed when a rebuild is cheaper."""

from __future__ import annotations

import hashlib
import io
import threading
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from bastion.banks import service, transfer
from bastion.clock import ManualClock
from bastion.cli.main import app as cli
from bastion.matching import banked, snapshot
from bastion.matching.banked import BankMatcher, rebuild_is_cheaper



def _pdq(i: int) -> str:
    """A PDQ hash far (about 128 bits) from every other `_pdq(j)`."""
    return hashlib.sha256(str(i).encode()).hexdigest()


def _import(db: Session, clock: ManualClock, bank: object, first: int, count: int) -> None:
    lines = "".join(f"pdq {_pdq(i)}\n" for i in range(first, first + count))
    report = transfer.import_lines(db, bank, lambda: io.StringIO(lines), "te", actor="t", clock=clock)  # type: ignore[arg-type]
    assert report.imported == count


def _hits(matcher: BankMatcher, db: Session, value: int) -> int:
    return len(matcher.match(db, {"pdq": _pdq(value)}).matches)


def test_a_long_backlog_is_caught_up_in_the_background(db: Session, clock: ManualClock,
                                                       sessions: sessionmaker[Session],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """While the catch-up is held back, queries answer at once from the index as it stood."""
    monkeypatch.setattr(banked, "SYNC_REPLAY_LIMIT", 5)
    bank = service.create_bank(db, name="BULK", actor="t", clock=clock)
    db.commit()
    _import(db, clock, bank, 1, 3)
    matcher = BankMatcher(sessions, clock, refresh_seconds=0)
    matcher.load()
    assert _hits(matcher, db, 1) == 1

    release, started = threading.Event(), threading.Event()
    real_catch_up = matcher.catch_up

    def held_catch_up() -> None:
        started.set()
        assert release.wait(30)
        real_catch_up()

    monkeypatch.setattr(matcher, "catch_up", held_catch_up)
    _import(db, clock, bank, 1000, 40)  # 40 changes > the limit of 5
    assert _hits(matcher, db, 1010) == 0  # answered from the old index, not after a replay
    assert started.wait(30) and matcher.catching_up
    assert _hits(matcher, db, 1) == 1  # and the old index still answers
    release.set()
    matcher._catch_up.join(30)  # type: ignore[union-attr]
    assert not matcher.catching_up
    assert _hits(matcher, db, 1010) == 1 and matcher.status().size == 43


def test_a_short_backlog_is_replayed_before_the_query(db: Session, clock: ManualClock,
                                                      sessions: sessionmaker[Session]) -> None:
    """A new entry still matches on the very next query (within the refresh interval)."""
    bank = service.create_bank(db, name="SMALL", actor="t", clock=clock)
    db.commit()
    matcher = BankMatcher(sessions, clock, refresh_seconds=0)
    matcher.load()
    _import(db, clock, bank, 7, 3)
    assert _hits(matcher, db, 8) == 1 and not matcher.catching_up


def test_rebuild_or_replay() -> None:
    assert not rebuild_is_cheaper(banked.SYNC_REPLAY_LIMIT, 0)  # short: replay
    assert rebuild_is_cheaper(1_000_000, 1_000_000)  # an import as big as the index: rebuild
    assert not rebuild_is_cheaper(50_000, 10_000_000)  # a small share of a big index: replay


def test_a_snapshot_far_behind_is_not_replayed(db: Session, clock: ManualClock, sessions: sessionmaker[Session],
                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(banked, "SYNC_REPLAY_LIMIT", 5)
    path = tmp_path / "pdq.snapshot"
    bank = service.create_bank(db, name="SNAP", actor="t", clock=clock)
    db.commit()
    _import(db, clock, bank, 1, 3)
    writer = BankMatcher(sessions, clock, refresh_seconds=0, snapshot_path=path)
    writer.load()
    writer.write_snapshot()
    _import(db, clock, bank, 100, 50)

    replayed: list[int] = []
    reader = BankMatcher(sessions, clock, refresh_seconds=0, snapshot_path=path)
    monkeypatch.setattr(banked, "LOOKBACK", 0)  # no window of late commits to replay in this test
    monkeypatch.setattr(reader, "_apply", lambda changes, *_: replayed.append(len(changes)))
    reader.load()
    assert replayed == [] and reader.status().size == 53  # built from the database, nothing replayed
    assert _hits(reader, db, 120) == 1


def test_bank_import_writes_the_snapshot_servers_start_from(tmp_path: Path) -> None:
    env = {"BASTION_DATA_DIR": str(tmp_path), "BASTION_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}",
           "BASTION_ADMIN_PASSWORD": "a-long-enough-password-1"}
    runner = CliRunner()
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    assert runner.invoke(cli, ["banks", "create", "LIST"], env=env).exit_code == 0
    hashes = tmp_path / "list.te"
    hashes.write_text("".join(f"pdq {_pdq(i)}\n" for i in range(1, 26)))
    result = runner.invoke(cli, ["banks", "import", "LIST", str(hashes)], env=env)
    assert result.exit_code == 0, result.output
    info = snapshot.read_info(tmp_path / "index" / "pdq.snapshot")
    assert info.rows == 25 and info.generation == 25 and "snapshot written" in result.output
