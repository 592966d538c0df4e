"""Preserving and reading evidence: round trip, content addressing, custody, EXIF, refusals."""

from __future__ import annotations

import hashlib
import io
import json
import os

import pytest
from PIL import ExifTags
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bastion import audit
from bastion.audit.models import AuditRecord
from bastion.clock import ManualClock
from bastion.evidence import (
    EvidenceNotFound,
    EvidencePurged,
    FsspecBlobStore,
    InvalidEvidence,
    MasterKey,
    Vault,
)
from bastion.evidence.models import EvidenceBlob
from tests.evidence._helpers import object_path, synthetic_jpeg


def _preserve(vault: Vault, session: Session, data: bytes, subject: str = "case:12", **kwargs: object):
    options = {"kind": "media", "subject": subject, "actor": "reviewer:ana", "reason": "matched a known hash"}
    options.update(kwargs)
    return vault.preserve(session, data, **options)  # type: ignore[arg-type]


def test_round_trip_keeps_bytes_and_hashes_and_stores_only_ciphertext(
    vault: Vault, store: FsspecBlobStore, sessions: sessionmaker[Session]
) -> None:
    data = os.urandom(5000)
    with sessions() as s:
        item = _preserve(vault, s, data, metadata={"filename": "upload.bin", "uploader": "account:abc"},
                         context={"case": 12, "decision": "violating"}, pdq="AB" * 32)
        s.commit()
        item_id = item.id
    with sessions() as s:
        assert vault.open(s, item_id, actor="reviewer:ana", reason="second review") == data
        s.commit()
        item = vault.get(s, item_id)
        assert (item.sha256, item.md5, item.sha1) == (hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest(),
                                                     hashlib.sha1(data).hexdigest())
        assert item.pdq == "ab" * 32 and item.size == 5000 and item.content_type == "application/octet-stream"
        assert json.loads(item.metadata_json)["filename"] == "upload.bin"
        assert json.loads(item.context_json)["decision"] == "violating"
        blob = s.get(EvidenceBlob, item.blob_id)
        assert blob is not None
        stored = object_path(store, blob.object_key).read_bytes()
    assert data not in stored and data[:64] not in stored
    assert blob.sha256 not in blob.object_key  # storage names reveal nothing about content


def test_same_bytes_twice_are_one_object_and_two_items(
    vault: Vault, store: FsspecBlobStore, sessions: sessionmaker[Session]
) -> None:
    data = os.urandom(2048)
    with sessions() as s:
        first = _preserve(vault, s, data, subject="case:1")
        s.commit()
    with sessions() as s:
        second = _preserve(vault, s, data, subject="account:abc", kind="content_snapshot")
        other = _preserve(vault, s, os.urandom(2048), subject="case:1")
        s.commit()
        assert first.id != second.id and first.blob_id == second.blob_id != other.blob_id
        assert s.scalar(select(func.count()).select_from(EvidenceBlob)) == 2
        assert json.loads(vault.custody(s, second.id)[0].details_json)["deduplicated"] is True
        assert vault.open(s, second.id, actor="a", reason="r") == data
    assert len(list(store.keys())) == 2


def test_a_rolled_back_preservation_leaves_no_object(vault: Vault, store: FsspecBlobStore,
                                                     sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        _preserve(vault, s, os.urandom(100))
        assert len(list(store.keys())) == 1
        s.rollback()
    assert list(store.keys()) == []


def test_every_act_is_in_the_custody_log_and_the_audit_chain(
    vault: Vault, clock: ManualClock, sessions: sessionmaker[Session]
) -> None:
    from datetime import timedelta

    with sessions() as s:
        item = _preserve(vault, s, os.urandom(300))
        s.commit()
        item_id = item.id
    with sessions() as s:
        clock.advance(timedelta(minutes=5))
        vault.open(s, item_id, actor="reviewer:bo", reason="escalation review")
        clock.advance(timedelta(minutes=5))
        exported = vault.export(s, item_id, actor="legal:cy", reason="court order 24-113",
                                destination="production package 7")
        clock.advance(timedelta(minutes=5))
        vault.record_disclosure(s, item_id, actor="system:ncmec", reason="mandatory report", recipient="NCMEC",
                                reference="CyberTipline 123456")
        s.commit()
    with sessions() as s:
        events = vault.custody(s, item_id)
        assert [e.action for e in events] == ["store", "view", "export", "disclose"]
        assert [e.actor for e in events] == ["reviewer:ana", "reviewer:bo", "legal:cy", "system:ncmec"]
        assert events[2].reason == "court order 24-113"
        assert json.loads(events[2].details_json)["destination"] == "production package 7"
        assert json.loads(events[3].details_json)["reference"] == "CyberTipline 123456"
        assert events[3].at - events[0].at == timedelta(minutes=15)
        records = {r.seq: r for r in s.scalars(select(AuditRecord))}
        assert [records[e.audit_seq].action for e in events] == [
            "evidence.store", "evidence.view", "evidence.export", "evidence.disclose"]
        assert all(records[e.audit_seq].subject == f"evidence:{item_id}" for e in events)
        assert audit.verify(s).ok
    assert exported.manifest["sha256"] == exported.manifest["custody"][0]["details"]["sha256"]
    assert [c["action"] for c in exported.manifest["custody"]] == ["store", "view", "export"]
    assert hashlib.sha256(exported.data).hexdigest() == exported.manifest["sha256"]


def test_exif_of_a_synthetic_jpeg_is_extracted(vault: Vault, sessions: sessionmaker[Session]) -> None:
    jpeg = synthetic_jpeg(exif={ExifTags.Base.Make: "Bastion Test Camera", ExifTags.Base.Model: "Synthetic 1",
                                ExifTags.Base.DateTime: "2025:06:01 12:30:00"})
    with sessions() as s:
        item = _preserve(vault, s, jpeg)
        s.commit()
        exif = json.loads(item.exif_json)
    assert item.content_type == "image/jpeg"
    assert exif["image"] == {"format": "JPEG", "width": 32, "height": 24}
    assert exif["ifd0"]["Make"] == "Bastion Test Camera"
    assert exif["ifd0"]["Model"] == "Synthetic 1"
    assert exif["ifd0"]["DateTime"] == "2025:06:01 12:30:00"


def test_bytes_that_merely_look_like_an_image_are_still_preserved(vault: Vault, sessions: sessionmaker[Session]) -> None:
    broken = synthetic_jpeg()[:40]
    with sessions() as s:
        item = _preserve(vault, s, broken)
        assert json.loads(item.exif_json) == {} and vault.open(s, item.id, actor="a", reason="r") == broken


BAD_INPUT = [
    ({"kind": "photo"}, "not one of"),
    ({"subject": "case 12"}, "must look like"),
    ({"reason": " "}, "needs a reason"),
    ({"actor": ""}, "needs an actor"),
    ({"pdq": "xyz"}, "64 hexadecimal"),
    ({"metadata": {"x": {1, 2}}}, "must be JSON"),
]


def test_bad_input_is_refused_with_a_reason_and_streams_are_capped(
    vault: Vault, store: FsspecBlobStore, master: MasterKey, clock: ManualClock, sessions: sessionmaker[Session]
) -> None:
    with sessions() as s:
        for override, message in BAD_INPUT:
            with pytest.raises(InvalidEvidence, match=message):
                _preserve(vault, s, b"data", **override)
        assert list(store.keys()) == []
        small = Vault(store, master, clock, max_bytes=100)
        item = _preserve(small, s, io.BytesIO(b"x" * 100))
        assert small.open(s, item.id, actor="a", reason="r") == b"x" * 100
        with pytest.raises(InvalidEvidence, match="larger than 100 bytes"):
            _preserve(small, s, io.BytesIO(b"x" * 101))


def test_unknown_and_purged_items(vault: Vault, sessions: sessionmaker[Session]) -> None:
    with sessions() as s:
        with pytest.raises(EvidenceNotFound):
            vault.open(s, 999, actor="a", reason="r")
        item = _preserve(vault, s, b"to be deleted")
        vault.purge_item(s, item.id, actor="legal:cy", reason="preserved in error")
        s.commit()
        with pytest.raises(EvidencePurged, match="only its hashes and custody remain"):
            vault.open(s, item.id, actor="a", reason="r")
        assert [e.action for e in vault.custody(s, item.id)] == ["store", "purge"]


def test_vault_objects_and_the_database_are_private_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """0600 files in a 0700 vault; the embedded database is created 0600 in a 0700 directory."""
    import stat

    from bastion.db import make_engine
    from bastion.evidence import FsspecBlobStore

    store = FsspecBlobStore(str(tmp_path / "vault"))
    store.put("ab/cd/object", b"benign bytes")
    assert stat.S_IMODE((tmp_path / "vault").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "vault" / "ab" / "cd" / "object").stat().st_mode) == 0o600
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'bastion.db'}")
    engine.dispose()
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "data" / "bastion.db").stat().st_mode) == 0o600


def test_a_rolled_back_savepoint_takes_only_its_own_custody_events(vault: Vault,
                                                                   sessions: sessionmaker[Session]) -> None:
    """A view undone by a savepoint's rollback never happened; the view before it did, and stays."""
    with sessions() as s:
        item_id = _preserve(vault, s, os.urandom(300)).id
        s.commit()
    with sessions() as s:
        vault.open(s, item_id, actor="reviewer:bo", reason="kept")
        try:
            with s.begin_nested():
                vault.open(s, item_id, actor="reviewer:bo", reason="undone")
                raise RuntimeError("the request failed after reading")
        except RuntimeError:
            pass
        assert [e.reason for e in vault.custody(s, item_id)][1:] == ["kept"]  # this transaction's own, listed
        s.commit()
    with sessions() as s:
        events = vault.custody(s, item_id)
        assert [(e.action, e.reason) for e in events][1:] == [("view", "kept")]
        records = {r.seq: r for r in s.scalars(select(AuditRecord))}
        assert records[events[1].audit_seq].action == "evidence.view"
        assert audit.verify(s).ok
