"""`bastion evidence ...`: verify, rotate-key, purge, hold, release through the Typer sub-app."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner, Result

from bastion.cli.evidence import evidence_app
from bastion.clock import ManualClock
from bastion.config import get_settings
from bastion.evidence import FsspecBlobStore, MasterKey, Vault
from bastion.evidence.models import EvidenceBlob
from tests.evidence._helpers import object_path

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path, clock: ManualClock,
            master: MasterKey) -> Iterator[Path]:
    """The CLI pointed at the test database, the fixtures' store and master key, and the manual clock."""
    monkeypatch.setenv("BASTION_DATABASE_URL", database_url)
    monkeypatch.setenv("BASTION_DATA_DIR", str(tmp_path))
    for name in ("BASTION_EVIDENCE_MASTER_KEY", "BASTION_EVIDENCE_MASTER_KEY_FILE",
                 "BASTION_EVIDENCE_PREVIOUS_KEY_FILES", "BASTION_EVIDENCE_STORE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("bastion.cli.evidence.clock", clock)
    master.write_new_file(tmp_path / "evidence.key")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def run(*args: str) -> Result:
    return runner.invoke(evidence_app, list(args))


def _preserve(vault: Vault, sessions: sessionmaker[Session], subject: str = "case:9") -> tuple[int, str]:
    with sessions() as s:
        item = vault.preserve(s, b"benign test bytes " + subject.encode(), kind="document", subject=subject,
                              actor="a", reason="r")
        vault.apply_retention(s, item.id, "removed_content", from_time=vault.clock.now(), actor="a")
        s.commit()
        blob = s.get(EvidenceBlob, item.blob_id)
        assert blob is not None
        return item.id, blob.object_key


def test_hold_purge_release_purge(cli_env: Path, vault: Vault, clock: ManualClock,
                                  sessions: sessionmaker[Session]) -> None:
    item_id, _ = _preserve(vault, sessions)
    held = run("hold", "--subject", "case:9", "--reason", "court order 24-7", "--reference", "CO-24-7")
    assert held.exit_code == 0 and "Placed legal hold 1 on case:9" in held.output
    assert "case:9" in run("holds").output
    clock.advance(timedelta(days=181))
    first = run("purge")
    assert first.exit_code == 0 and "Purged 0 items; 1 expired items are kept" in first.output
    assert run("release", "1", "--reason", "order lifted").exit_code == 0
    second = run("purge")
    assert second.exit_code == 0 and "Purged 1 items" in second.output
    with sessions() as s:
        assert [e.action for e in vault.custody(s, item_id)][-3:] == ["hold", "release", "purge"]
        assert vault.custody(s, item_id)[-1].actor.startswith("cli:")
    again = run("release", "1", "--reason", "twice")
    assert again.exit_code == 1 and "already released" in again.output and "Traceback" not in again.output


def test_verify_names_a_tampered_object(cli_env: Path, vault: Vault, store: FsspecBlobStore,
                                        sessions: sessionmaker[Session]) -> None:
    _preserve(vault, sessions, "case:1")
    item_id, object_key = _preserve(vault, sessions, "case:2")
    good = run("verify")
    assert good.exit_code == 0 and "2 of 2 objects intact" in good.output
    path = object_path(store, object_key)
    path.write_bytes(path.read_bytes()[:-1] + b"\x00")
    bad = run("verify")
    assert bad.exit_code == 1 and f"tampered: object {object_key}" in bad.output and f"items {item_id}" in bad.output


def test_rotate_key_then_verify_with_the_new_key(cli_env: Path, vault: Vault, monkeypatch: pytest.MonkeyPatch,
                                                 sessions: sessionmaker[Session]) -> None:
    _preserve(vault, sessions)
    new_key = cli_env / "new.key"
    created = run("new-key", str(new_key))
    assert created.exit_code == 0 and MasterKey.from_file(new_key).key_id in created.output
    rotated = run("rotate-key", "--new-key-file", str(new_key), "--reason", "annual")
    assert rotated.exit_code == 0 and "Re-wrapped 1 data keys" in rotated.output
    assert run("verify").exit_code == 1  # still configured with the old key: refused, and said so
    monkeypatch.setenv("BASTION_EVIDENCE_MASTER_KEY_FILE", str(new_key))
    get_settings.cache_clear()  # as a new process would read it
    assert run("verify").exit_code == 0
    monkeypatch.setenv("BASTION_EVIDENCE_MASTER_KEY_FILE", str(cli_env / "lost.key"))
    get_settings.cache_clear()
    lost = run("verify")
    assert lost.exit_code == 1 and "No evidence master key file at" in lost.output and "Traceback" not in lost.output
