"""Verification: altered, missing and orphaned objects are found and named."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.audit.models import AuditRecord
from bastion.evidence import BlobMissing, FsspecBlobStore, TamperedEvidence, Vault
from bastion.evidence.models import EvidenceBlob
from tests.evidence._helpers import object_path


def _preserve(vault: Vault, sessions: sessionmaker[Session], count: int = 2) -> tuple[list[int], list[str]]:
    with sessions() as s:
        items = [vault.preserve(s, os.urandom(1000), kind="media", subject="case:3", actor="a", reason="r")
                 for _ in range(count)]
        s.commit()
        keys = [s.get(EvidenceBlob, i.blob_id).object_key for i in items]  # type: ignore[union-attr]
        return [i.id for i in items], keys


def test_an_intact_vault_verifies_and_the_run_is_audited(vault: Vault, sessions: sessionmaker[Session]) -> None:
    _preserve(vault, sessions)
    with sessions() as s:
        report = vault.verify(s, actor="cli:ops")
        s.commit()
        assert report.intact and (report.objects, report.ok, report.orphans) == (2, 2, [])
        assert s.scalar(select(AuditRecord.actor).where(AuditRecord.action == "evidence.verify")) == "cli:ops"


def test_a_flipped_byte_or_a_swapped_object_on_disk_is_found_and_named(
    vault: Vault, store: FsspecBlobStore, sessions: sessionmaker[Session]
) -> None:
    ids, keys = _preserve(vault, sessions, count=3)
    path = object_path(store, keys[1])
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    object_path(store, keys[2]).write_bytes(object_path(store, keys[0]).read_bytes())  # valid, but another object
    with sessions() as s:
        report = vault.verify(s, actor="cli:ops")
        assert not report.intact and report.ok == 1
        assert [(p.kind, p.object_key, p.items) for p in report.problems] == [
            ("tampered", keys[1], (ids[1],)), ("tampered", keys[2], (ids[2],))]
        assert keys[1] in report.problems[0].detail
        with pytest.raises(TamperedEvidence, match=keys[1]):
            vault.open(s, ids[1], actor="a", reason="r")
        assert vault.open(s, ids[0], actor="a", reason="r")


def test_a_missing_object_is_named_and_orphans_are_listed(vault: Vault, store: FsspecBlobStore,
                                                          sessions: sessionmaker[Session]) -> None:
    ids, keys = _preserve(vault, sessions)
    object_path(store, keys[0]).unlink()
    store.put("ff/leftover", b"an object no row references")
    with sessions() as s:
        report = vault.verify(s, actor="cli:ops")
        [problem] = report.problems
        assert (problem.kind, problem.object_key, problem.items) == ("missing", keys[0], (ids[0],))
        assert report.orphans == ["ff/leftover"]
        with pytest.raises(BlobMissing, match="Restore it from a backup"):
            vault.open(s, ids[0], actor="a", reason="r")
        assert vault.verify(s, actor="cli:ops", orphans=False).orphans == []
