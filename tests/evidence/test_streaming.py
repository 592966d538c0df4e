"""Streaming evidence: a video larger than the chunk size goes in and out of the vault in pieces.

Memory is asserted with tracemalloc (peak well below the file's size) and by
counting the chunks decrypted, never with timings. Objects written before the
chunked format still read, and a tampered, truncated or reordered chunk is refused.
"""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bastion.clock import ManualClock
from bastion.evidence import FsspecBlobStore, MasterKey, TamperedEvidence, Vault, envelope
from bastion.evidence.models import EvidenceBlob
from tests.evidence._helpers import object_path
from tests.media._videos import make_clip

CHUNK = 16 * 1024
_OPTS = {"kind": "media", "subject": "case:7", "actor": "reviewer:ana", "reason": "matched a known video"}


@pytest.fixture
def video(tmp_path: Path) -> Path:
    """A synthetic noisy clip several hundred KiB long: many chunks of CHUNK bytes."""
    path = make_clip(tmp_path, "evidence", seconds=4.0, width=320, height=240, bit_rate=2_000_000)
    assert path.stat().st_size > 20 * CHUNK
    return path


@pytest.fixture
def small_chunks(store: FsspecBlobStore, master: MasterKey, clock: ManualClock, vault: Vault) -> Vault:
    return Vault(store, master, clock, chunk_bytes=CHUNK)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_video_round_trips_in_chunks_with_memory_below_its_size(
    small_chunks: Vault, video: Path, store: FsspecBlobStore, sessions: sessionmaker[Session]
) -> None:
    size = video.stat().st_size
    with sessions() as s:  # warm up once: imports and statement caches are not what is measured
        warm = small_chunks.preserve(s, io.BytesIO(os.urandom(3 * CHUNK)), **_OPTS)
        with small_chunks.open_stream(s, warm.id, actor="a", reason="warm-up") as reader:
            reader.read()
        s.rollback()
    with sessions() as s:
        tracemalloc.start()
        try:
            with video.open("rb") as source:
                item = small_chunks.preserve(s, source, **_OPTS)
            _, preserve_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        s.commit()
        item_id, blob_id = item.id, item.blob_id
        assert (item.size, item.sha256, item.content_type) == (size, _sha256(video), "video/mp4")
    assert preserve_peak < size / 4

    blob = sessions().get(EvidenceBlob, blob_id)
    stored = object_path(store, blob.object_key).read_bytes()
    assert stored.startswith(envelope.MAGIC_STREAM)
    segments = -(-size // CHUNK)
    assert len(stored) == envelope.HEADER_BYTES + size + segments * envelope.TAG_BYTES

    digest = hashlib.sha256()
    with sessions() as s:
        tracemalloc.start()
        try:
            reader = small_chunks.open_stream(s, item_id, actor="reviewer:ana", reason="second review")
            with reader:
                while piece := reader.read(4096):
                    digest.update(piece)
                chunks = reader.raw.chunks_read
            _, read_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        s.commit()
    assert digest.hexdigest() == _sha256(video)
    assert chunks == segments
    assert read_peak < size / 4


def test_streamed_reader_seeks_and_reports_its_size(
    small_chunks: Vault, video: Path, sessions: sessionmaker[Session]
) -> None:
    data = video.read_bytes()
    with sessions() as s:
        with video.open("rb") as source:
            item_id = small_chunks.preserve(s, source, **_OPTS).id
        s.commit()
    with sessions() as s, small_chunks.open_stream(s, item_id, actor="a", reason="r") as reader:
        assert reader.seek(0, 2) == len(data)
        reader.seek(CHUNK * 3 + 5)
        assert reader.read(100) == data[CHUNK * 3 + 5:CHUNK * 3 + 105]
        reader.seek(0)
        assert reader.read() == data


def test_identical_stream_is_stored_once(
    small_chunks: Vault, video: Path, store: FsspecBlobStore, sessions: sessionmaker[Session]
) -> None:
    with sessions() as s:
        first = small_chunks.preserve(s, video.read_bytes(), **_OPTS)
        with video.open("rb") as source:
            second = small_chunks.preserve(s, source, **_OPTS)
        s.commit()
        assert first.blob_id == second.blob_id and first.id != second.id
    assert len(list(store.keys())) == 1


@pytest.mark.parametrize("damage", ["flip", "truncate", "swap", "drop_last"])
def test_damaged_chunks_are_refused(
    damage: str, small_chunks: Vault, video: Path, store: FsspecBlobStore, sessions: sessionmaker[Session]
) -> None:
    with sessions() as s:
        with video.open("rb") as source:
            item = small_chunks.preserve(s, source, **_OPTS)
        s.commit()
        item_id, key = item.id, s.get(EvidenceBlob, item.blob_id).object_key
    path = object_path(store, key)
    stored = bytearray(path.read_bytes())
    segment = CHUNK + envelope.TAG_BYTES
    first = envelope.HEADER_BYTES
    if damage == "flip":
        stored[first + 3 * segment + 7] ^= 1
    elif damage == "truncate":
        del stored[first + 5 * segment:]
    elif damage == "swap":
        a, b = stored[first:first + segment], stored[first + segment:first + 2 * segment]
        stored[first:first + 2 * segment] = b + a
    else:
        segments = -(-(len(stored) - first) // segment)
        del stored[first + (segments - 1) * segment:]  # the final (flagged last) segment is gone
    path.write_bytes(bytes(stored))
    with sessions() as s, pytest.raises(TamperedEvidence):
        with small_chunks.open_stream(s, item_id, actor="a", reason="r") as reader:
            while reader.read(4096):
                pass


def test_objects_in_the_old_single_message_format_still_read(
    vault: Vault, store: FsspecBlobStore, master: MasterKey, sessions: sessionmaker[Session]
) -> None:
    data = b"preserved before streaming existed" * 50
    with sessions() as s:
        item = vault.preserve(s, data, **_OPTS)
        s.commit()
        blob = s.get(EvidenceBlob, item.blob_id)
        old, wrapped = envelope.seal_v1(data, object_key=blob.object_key, sha256=blob.sha256, master=master)
        object_path(store, blob.object_key).write_bytes(old)
        blob.wrapped_key = wrapped
        s.commit()
        assert vault.open(s, item.id, actor="a", reason="r") == data
        with vault.open_stream(s, item.id, actor="a", reason="r") as reader:
            assert reader.read() == data
        assert vault.verify(s).intact
