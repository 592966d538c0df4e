"""Master keys: a wrong key is refused with instructions, rotation re-wraps without rewriting objects."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.audit.models import AuditRecord
from bastion.clock import ManualClock
from bastion.evidence import (
    FsspecBlobStore,
    KeyRing,
    MasterKey,
    TamperedEvidence,
    Vault,
    VaultKeyError,
)
from bastion.evidence.models import EvidenceBlob
from tests.evidence._helpers import object_path


def _preserve(vault: Vault, session: Session, data: bytes) -> int:
    return vault.preserve(session, data, kind="document", subject="request:5", actor="legal:cy",
                          reason="preservation request").id


def test_a_wrong_master_key_is_refused_clearly(vault: Vault, store: FsspecBlobStore, master: MasterKey,
                                               clock: ManualClock, sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        item_id = _preserve(vault, s, os.urandom(64))
        s.commit()
    stranger = Vault(store, MasterKey.generate(), clock)
    with sessions() as s:
        with pytest.raises(VaultKeyError) as refused:
            stranger.open(s, item_id, actor="a", reason="r")
        with pytest.raises(VaultKeyError):
            stranger.check_keys(s)
    message = refused.value.message
    assert master.key_id in message and "BASTION_EVIDENCE_MASTER_KEY" in message
    assert master.secret.hex() not in message and master.key_id not in repr(master)


def test_rotation_rewraps_keys_and_leaves_objects_untouched(vault: Vault, store: FsspecBlobStore, master: MasterKey,
                                                            clock: ManualClock, sessions: sessionmaker[Session]) -> None:
    data = [os.urandom(500), os.urandom(700)]
    with sessions() as s:
        ids = [_preserve(vault, s, d) for d in data]
        s.commit()
        files = {b.object_key: object_path(store, b.object_key).read_bytes() for b in s.scalars(select(EvidenceBlob))}
    new = MasterKey.generate()
    with sessions() as s:
        report = vault.rotate_key(s, new, actor="admin:di", reason="annual rotation")
        s.commit()
    assert (report.new_key_id, report.rewrapped, report.from_keys) == (new.key_id, 2, {master.key_id: 2})
    assert {k: object_path(store, k).read_bytes() for k in files} == files
    with sessions() as s:
        fresh = Vault(store, new, clock)
        assert [fresh.open(s, i, actor="a", reason="r") for i in ids] == data
        with pytest.raises(VaultKeyError):
            Vault(store, master, clock).open(s, ids[0], actor="a", reason="r")
        newer = _preserve(vault, s, b"sealed after rotation")  # the rotating vault now seals with the new key
        assert fresh.open(s, newer, actor="a", reason="r") == b"sealed after rotation"
        assert vault.rotate_key(s, new, actor="admin:di", reason="re-run").rewrapped == 0
        s.commit()
        rotations = s.scalars(select(AuditRecord).where(AuditRecord.action == "evidence.key.rotate")).all()
        assert rotations[0].subject == f"evidence_key:{new.key_id}" and "annual rotation" in rotations[0].details


def test_an_interrupted_rotation_is_finished_with_both_keys(vault: Vault, store: FsspecBlobStore, master: MasterKey,
                                                            clock: ManualClock, sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        first = _preserve(vault, s, b"one")
        s.commit()
        vault.rotate_key(s, MasterKey.generate(), actor="a", reason="r")  # never committed: as if it crashed
        s.rollback()
    new = MasterKey.generate()
    with sessions() as s:
        resumed = Vault(store, KeyRing(new, [master]), clock)
        resumed.check_keys(s)
        assert resumed.rotate_key(s, new, actor="a", reason="finish").rewrapped == 1
        s.commit()
        assert Vault(store, new, clock).open(s, first, actor="a", reason="r") == b"one"


def test_a_wrapped_key_copied_to_another_object_does_not_authenticate(
    vault: Vault, sessions: sessionmaker[Session]
) -> None:
    with sessions() as s:
        a, b = _preserve(vault, s, b"first object"), _preserve(vault, s, b"second object")
        blob_a, blob_b = (s.get(EvidenceBlob, vault.get(s, i).blob_id) for i in (a, b))
        assert blob_a is not None and blob_b is not None
        blob_b.wrapped_key = blob_a.wrapped_key
        s.flush()
        with pytest.raises(TamperedEvidence, match="wrapped data key"):
            vault.open(s, b, actor="a", reason="r")


def test_key_text_formats_and_files(tmp_path: Path) -> None:
    key = MasterKey.generate()
    assert MasterKey.parse(key.secret.hex()) == key
    assert MasterKey.parse(base64.b64encode(key.secret).decode() + "\n") == key
    for bad in ("", "not a key", "ab" * 16):
        with pytest.raises(VaultKeyError, match="new-key"):
            MasterKey.parse(bad)
    path = tmp_path / "keys" / "evidence.key"
    with pytest.raises(VaultKeyError, match=f"No evidence master key file at {path}"):
        MasterKey.from_file(path)
    key.write_new_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert MasterKey.from_file(path).key_id == key.key_id
    with pytest.raises(VaultKeyError, match="refusing to overwrite"):
        MasterKey.generate().write_new_file(path)


def test_the_master_key_lives_outside_the_data_directory(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    """New instances put it beside the data; a key found inside (older instances) is kept but warned about."""
    import logging

    from bastion.cases.media import open_vault
    from bastion.clock import ManualClock
    from bastion.config import Settings

    fresh = Settings(data_dir=tmp_path / "fresh")
    with caplog.at_level(logging.WARNING):
        open_vault(fresh, ManualClock())
    assert (tmp_path / "fresh-keys" / "evidence.key").exists()
    assert not (tmp_path / "fresh" / "evidence.key").exists()
    assert not [r for r in caplog.records if "inside the data directory" in r.getMessage()]

    old = Settings(data_dir=tmp_path / "old")
    (tmp_path / "old").mkdir()
    MasterKey.generate().write_new_file(tmp_path / "old" / "evidence.key")
    with caplog.at_level(logging.WARNING):
        open_vault(old, ManualClock())
    assert not (tmp_path / "old-keys").exists()  # the existing key is used where it is ...
    assert [r for r in caplog.records if "inside the data directory" in r.getMessage()]  # ... and warned about
