"""The audit chain: appends link up, and edits or deletions are found and named."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from bastion import audit
from bastion.audit.chain import record_hash
from bastion.audit.models import AuditRecord
from bastion.cli.main import app as cli
from bastion.clock import ManualClock


def _append(db: Session, clock: ManualClock, n: int) -> None:
    for i in range(n):
        audit.record(db, actor="tester", action="test.act", subject=f"thing:{i}", details={"i": i, "ü": "ok"},
                     clock=clock)
    db.commit()


def test_intact_chain_verifies(db: Session, clock: ManualClock) -> None:
    _append(db, clock, 5)
    result = audit.verify(db)
    assert result.ok and result.records == 5 and result.first_broken is None


def test_edited_record_is_named(db: Session, clock: ManualClock) -> None:
    _append(db, clock, 5)
    db.execute(text("UPDATE audit_records SET details = :d WHERE seq = 3"), {"d": '{"i":99}'})
    db.commit()
    result = audit.verify(db)
    assert not result.ok and result.first_broken == 3 and "edited" in result.reason


def test_edited_actor_is_named(db: Session, clock: ManualClock) -> None:
    _append(db, clock, 4)
    db.execute(text("UPDATE audit_records SET actor = 'someone-else' WHERE seq = 2"))
    db.commit()
    assert audit.verify(db).first_broken == 2


def test_deleted_middle_record_is_named(db: Session, clock: ManualClock) -> None:
    _append(db, clock, 5)
    db.execute(text("DELETE FROM audit_records WHERE seq = 2"))
    db.commit()
    result = audit.verify(db)
    assert not result.ok and result.first_broken == 2 and "missing" in result.reason


def test_deleted_last_record_is_found_through_the_head(db: Session, clock: ManualClock) -> None:
    _append(db, clock, 5)
    db.execute(text("DELETE FROM audit_records WHERE seq = 5"))
    db.commit()
    result = audit.verify(db)
    assert not result.ok and result.first_broken == 5


def test_rehashed_edit_still_breaks_the_next_link(db: Session, clock: ManualClock) -> None:
    """An editor who also recomputes the edited record's own hash is caught by the next record."""
    _append(db, clock, 4)
    row = db.get(AuditRecord, 2)
    assert row is not None
    forged = record_hash(2, row.at, row.actor, row.action, row.subject, '{"i":42}', row.prev_hash)
    db.execute(text("UPDATE audit_records SET details = :d, hash = :h WHERE seq = 2"), {"d": '{"i":42}', "h": forged})
    db.commit()
    db.expire_all()
    result = audit.verify(db)
    assert not result.ok and result.first_broken == 3


def test_cli_verify_exit_codes(db: Session, clock: ManualClock, database_url: str, tmp_path: Path,
                               monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _append(db, clock, 3)
    monkeypatch.setenv("BASTION_DATABASE_URL", database_url)
    monkeypatch.setenv("BASTION_DATA_DIR", str(tmp_path))
    from bastion.config import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert "3 records verified" in ok.output
    db.execute(text("UPDATE audit_records SET action = 'x' WHERE seq = 2"))
    db.commit()
    broken = runner.invoke(cli, ["audit", "verify"])
    assert broken.exit_code == 1
    assert "record 2" in broken.output
    get_settings.cache_clear()
