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
from bastion.auth.roles import Role
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


def test_a_truncated_and_rewritten_chain_fails_against_an_exported_head(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Drop the last records and rewrite the head: `verify` alone passes, the exported anchor does not."""
    import json
    from sqlalchemy import delete, select
    from typer.testing import CliRunner

    from bastion.audit.models import AuditHead, AuditRecord
    from bastion.cli.main import app as cli
    from bastion.db import make_engine, make_sessionmaker

    env = {"BASTION_DATA_DIR": str(tmp_path), "BASTION_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}",
           "BASTION_ADMIN_PASSWORD": "a-long-enough-password-1"}
    runner = CliRunner()
    assert runner.invoke(cli, ["init"], env=env).exit_code == 0
    for name in ("one", "two", "three"):
        assert runner.invoke(cli, ["users", "create", name, "--role", "auditor", "--password",
                                   "auditor-password-1"], env=env).exit_code == 0
    exported = runner.invoke(cli, ["audit", "export-head", "--out", str(tmp_path / "head.json")], env=env)
    assert exported.exit_code == 0, exported.output
    held = runner.invoke(cli, ["audit", "verify", "--head-file", str(tmp_path / "head.json")], env=env)
    assert held.exit_code == 0 and "still held" in held.output

    engine = make_engine(env["BASTION_DATABASE_URL"])
    with make_sessionmaker(engine)() as session:  # the attacker: drop the newest record, rewrite the head
        newest = session.scalar(select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1))
        previous = session.get(AuditRecord, newest.seq - 1)
        session.execute(delete(AuditRecord).where(AuditRecord.seq == newest.seq))
        head = session.get(AuditHead, 1)
        head.seq, head.hash = previous.seq, previous.hash
        session.commit()
    engine.dispose()
    assert runner.invoke(cli, ["audit", "verify"], env=env).exit_code == 0  # the chain alone cannot tell
    caught = runner.invoke(cli, ["audit", "verify", "--head-file", str(tmp_path / "head.json")], env=env)
    assert caught.exit_code == 1 and "is gone" in caught.output
    anchor_text = json.loads((tmp_path / "head.json").read_text())["statement"]["anchor"]
    assert runner.invoke(cli, ["audit", "verify", "--expect-head", anchor_text], env=env).exit_code == 1

    forged = json.loads((tmp_path / "head.json").read_text())
    forged["statement"]["anchor"] = f"{previous.seq}:{previous.hash}"
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    refused = runner.invoke(cli, ["audit", "verify", "--head-file", str(tmp_path / "forged.json")], env=env)
    assert refused.exit_code != 0 and "not signed" in refused.output


def test_the_server_writes_signed_head_exports_on_a_schedule(tmp_path, sessions, clock) -> None:  # type: ignore[no-untyped-def]
    """The `audit.export_head` timer writes a signed file the CLI's `verify --head-file` accepts, and re-arms."""
    import json
    from datetime import timedelta

    from bastion import audit
    from bastion.evidence import anchors
    from bastion.executor import TaskContext
    from bastion.production.keys import SigningKey
    from bastion.timers import Ticker

    key = SigningKey.generate()
    with sessions() as session:
        audit.record(session, actor="t", action="test.act", clock=clock)
        anchors.schedule(session, clock, at=clock.now())
        session.commit()
    ticker = Ticker(TaskContext(sessions=sessions, clock=clock, services={
        anchors.SIGNING_KEY_SERVICE: key, anchors.ANCHOR_DIR_SERVICE: str(tmp_path / "anchors")}))
    ticker.tick()
    [first] = list((tmp_path / "anchors").iterdir())
    anchor = anchors.anchor_of(json.loads(first.read_text()), key.public_key)
    assert anchor.seq == 1
    clock.advance(anchors.ANCHOR_INTERVAL + timedelta(seconds=1))
    ticker.tick()
    assert len(list((tmp_path / "anchors").iterdir())) == 2  # the timer re-armed itself


def test_the_page_walks_only_the_tail_after_the_last_whole_verification(db: Session, clock: ManualClock) -> None:
    from bastion.audit import verified

    _append(db, clock, 5)
    assert verified.current(db).last_whole is None and verified.current(db).tail.records == 5  # never walked whole
    whole = verified.verify_whole(db, actor="auditor", clock=clock)
    db.commit()
    assert whole.ok and (whole.head_seq, whole.records) == (5, 5)
    _append(db, clock, 3)
    status = verified.current(db)
    assert status.ok and status.tail.records == 3 and status.unchecked == 0  # the 3 new ones, not all 8
    over = verified.current(db, budget=2)
    assert over.tail is None and over.unchecked == 3 and over.ok  # over budget: says so, walks nothing

    db.execute(text("UPDATE audit_records SET details = '{}' WHERE seq = 7"))  # an edit in the tail
    db.commit()
    status = verified.current(db)
    assert not status.ok and status.tail.first_broken == 7


def test_an_edit_where_the_last_whole_walk_ended_shows_at_once_and_an_older_one_at_the_next_walk(
        db: Session, clock: ManualClock) -> None:
    from bastion.audit import verified

    _append(db, clock, 6)
    verified.verify_whole(db, actor="auditor", clock=clock)
    db.commit()
    db.execute(text("UPDATE audit_records SET subject = 'x' WHERE seq = 2"))  # older than the walk's end
    db.commit()
    assert verified.current(db).ok  # not seen until the next whole walk: the page says when that was
    again = verified.verify_whole(db, actor="auditor", clock=clock)
    db.commit()
    assert not again.ok and again.first_broken == 2
    status = verified.current(db)
    assert not status.ok and status.last_whole.first_broken == 2


def test_the_anchor_of_the_last_whole_walk_is_rechecked_on_every_load(db: Session, clock: ManualClock) -> None:
    from bastion.audit import verified

    _append(db, clock, 4)
    verified.verify_whole(db, actor="auditor", clock=clock)
    db.commit()
    db.execute(text("DELETE FROM audit_records WHERE seq = 4"))
    db.commit()
    status = verified.current(db)
    assert not status.ok and "record 4" in status.anchor_problem and "removed" in status.anchor_problem


def test_the_audit_page_verifies_on_demand(client, user_factory, clock: ManualClock, db: Session) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    from tests.conftest import api_login

    csrf = api_login(client, user_factory(Role.AUDITOR), clock)
    page = client.get("/audit").text
    assert "has not been verified" in page and "Chain verified" in page
    done = client.post("/audit/verify", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    page = client.get("/audit").text
    assert "the whole chain up to record" in page and "Last whole-chain verification" in page
    db.execute(text("UPDATE audit_records SET details = '{}' WHERE seq = 1"))
    db.commit()
    client.post("/audit/verify", data={"csrf_token": csrf})
    assert "Chain broken at record 1" in client.get("/audit").text


def test_a_rolled_back_savepoint_takes_its_acts_records_with_it(db: Session, clock: ManualClock) -> None:
    """An act undone by a savepoint's rollback never happened: its record must not reach the chain."""
    from sqlalchemy import select

    audit.record(db, actor="t", action="kept.before", clock=clock)
    try:
        with db.begin_nested():
            audit.record(db, actor="t", action="undone.outer", clock=clock)
            with db.begin_nested():
                audit.record(db, actor="t", action="undone.inner", clock=clock)
            raise RuntimeError("the scan failed")
    except RuntimeError:
        pass
    with db.begin_nested():
        audit.record(db, actor="t", action="kept.released", clock=clock)
    try:
        with db.begin_nested():
            audit.record(db, actor="t", action="undone.alone", clock=clock)
            raise RuntimeError
    except RuntimeError:
        pass
    audit.record(db, actor="t", action="kept.after", clock=clock)
    db.commit()
    actions = list(db.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)))
    assert actions == ["kept.before", "kept.released", "kept.after"]
    assert audit.verify(db).ok
