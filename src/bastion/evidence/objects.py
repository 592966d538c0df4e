"""Sealed objects: content-addressed blobs, written once, read back with proof they are unchanged.

A blob is found by the SHA-256 of its plaintext, so the same bytes are stored once
however often they are preserved. Its object key in the store is random, not the
hash: listing the store must not reveal which known images the vault holds.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, Protocol

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.evidence import envelope, txhooks
from bastion.evidence.errors import InvalidEvidence, TamperedEvidence
from bastion.evidence.extract import Digester, Facts
from bastion.evidence.keys import KeyRing, MasterKey
from bastion.evidence.models import EvidenceBlob
from bastion.evidence.store import BlobStore


def new_object_key() -> str:
    name = uuid.uuid4().hex
    return f"{name[:2]}/{name}"


def store_once(
    session: Session, data: bytes, sha256: str, *, store: BlobStore, keys: KeyRing, clock: Clock,
    chunk_bytes: int = envelope.DEFAULT_CHUNK_BYTES,
) -> EvidenceBlob:
    """The blob holding `data`: the existing one (locked, so a purge cannot drop it now) or a new one.

    A new object is written before its row; if the transaction rolls back, or a
    concurrent transaction stored the same bytes first, the object is removed again.
    """
    existing = _locked(session, sha256)
    if existing is not None:
        return existing
    object_key = new_object_key()
    data_key = envelope.new_data_key()
    store.put_stream(object_key, envelope.seal_stream([data], data_key, object_key=object_key,
                                                      chunk_bytes=chunk_bytes))
    return _register(session, object_key, data_key, sha256, len(data), store=store, keys=keys, clock=clock)


def store_stream(
    session: Session, chunks: Iterable[bytes], *, store: BlobStore, keys: KeyRing, clock: Clock,
    chunk_bytes: int = envelope.DEFAULT_CHUNK_BYTES, max_bytes: int | None = None,
) -> tuple[EvidenceBlob, Facts]:
    """Seal `chunks` into a new object as they arrive, then register it (or drop it for an identical one).

    The digests are only known at the end, so deduplication happens after the write:
    storing bytes the vault already has costs one write and one delete, never memory.
    """
    digester = Digester()

    def counted() -> Iterator[bytes]:
        for chunk in chunks:
            digester.update(chunk)
            if max_bytes is not None and digester.size > max_bytes:
                raise InvalidEvidence(f"Evidence larger than {max_bytes} bytes cannot be preserved by this vault.")
            yield chunk

    object_key = new_object_key()
    data_key = envelope.new_data_key()
    store.put_stream(object_key, envelope.seal_stream(counted(), data_key, object_key=object_key,
                                                      chunk_bytes=chunk_bytes))
    facts = digester.facts()
    existing = _locked(session, facts.sha256)
    if existing is not None:
        store.delete(object_key)
        return existing, facts
    blob = _register(session, object_key, data_key, facts.sha256, facts.size, store=store, keys=keys, clock=clock)
    return blob, facts


def _register(session: Session, object_key: str, data_key: bytes, sha256: str, size: int, *, store: BlobStore,
              keys: KeyRing, clock: Clock) -> EvidenceBlob:
    wrapped = envelope.wrap(data_key, object_key=object_key, sha256=sha256, master=keys.current)
    txhooks.on_rollback(session, lambda: store.delete(object_key))
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    inserted = session.scalar(
        insert(EvidenceBlob)
        .values(sha256=sha256, object_key=object_key, size=size, key_id=keys.current.key_id,
                wrapped_key=wrapped, created_at=clock.now())
        .on_conflict_do_nothing(index_elements=["sha256"])
        .returning(EvidenceBlob.id)
    )
    if inserted is None:  # someone stored the same bytes a moment ago: use theirs
        store.delete(object_key)
    blob = _locked(session, sha256)
    assert blob is not None
    return blob


def _locked(session: Session, sha256: str) -> EvidenceBlob | None:
    return session.scalar(
        select(EvidenceBlob).where(EvidenceBlob.sha256 == sha256).with_for_update()
        .execution_options(populate_existing=True)
    )


class Sealed(Protocol):
    """What reading an object needs: a blob row, or a plain row of these columns."""

    object_key: str
    sha256: str
    key_id: str
    wrapped_key: bytes
    size: int


def read(blob: Sealed, *, store: BlobStore, keys: KeyRing) -> bytes:
    """The plaintext, proven unchanged: GCM authenticates it and its SHA-256 must match the row."""
    with open_reader(blob, store=store, keys=keys) as reader:
        return reader.read()


def open_reader(blob: Sealed, *, store: BlobStore, keys: KeyRing) -> BinaryIO:
    """A seekable reader of the plaintext, decrypting one chunk at a time.

    Read start to end, it checks the SHA-256 against the row at the end and raises
    TamperedEvidence instead of returning the final bytes if they differ. Objects
    in the old single-message format are decrypted whole (they predate streaming).
    """
    data_key = envelope.unwrap(blob.wrapped_key, object_key=blob.object_key, sha256=blob.sha256,
                               master=keys.get(blob.key_id))
    handle = store.open_read(blob.object_key)
    try:
        magic = handle.read(len(envelope.MAGIC_STREAM))
        if magic == envelope.MAGIC:
            stored = magic + handle.read()
            handle.close()
            plaintext = envelope.unseal(stored, data_key, object_key=blob.object_key, sha256=blob.sha256)
            _check_digest(blob, hashlib.sha256(plaintext).hexdigest())
            return io.BytesIO(plaintext)
        header = envelope.StreamHeader(magic + handle.read(envelope.HEADER_BYTES - len(magic)), data_key,
                                       object_key=blob.object_key)
    except BaseException:
        handle.close()
        raise
    return io.BufferedReader(SealedReader(handle, header, blob), buffer_size=header.chunk_bytes)


def _check_digest(blob: Sealed, digest: str) -> None:
    if digest != blob.sha256:
        raise TamperedEvidence(
            f"Evidence object {blob.object_key} decrypts, but not to the bytes that were preserved (SHA-256 "
            "differs). Restore the object and its database row from backups and run `bastion evidence verify`.",
            object_key=blob.object_key,
        )


class SealedReader(io.RawIOBase):
    """The plaintext of a BVE2 object as a raw, seekable file; one decrypted chunk held at a time."""

    def __init__(self, handle: BinaryIO, header: envelope.StreamHeader, blob: Sealed) -> None:
        self._handle, self._header, self._blob = handle, header, blob
        self.size, self._segments = blob.size, header.segments(blob.size)
        self._pos = 0
        self._chunk_index, self._chunk = -1, b""
        self._digest: hashlib._Hash | None = hashlib.sha256()  # while reading in order from the start
        self._hashed = 0
        self.chunks_read = 0
        self.on_chunk: Callable[[int], None] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        target = max(0, base + offset)
        if target == 0:
            self._digest, self._hashed = hashlib.sha256(), 0
        self._pos = target
        return target

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._pos >= self.size:
            self._finish()
            return 0
        index = self._pos // self._header.chunk_bytes
        chunk = self._load(index)
        start = self._pos - index * self._header.chunk_bytes
        piece = chunk[start:start + len(buffer)]
        if self._digest is not None and self._hashed == self._pos:
            self._digest.update(piece)
            self._hashed += len(piece)
        elif self._digest is not None:
            self._digest = None  # read out of order: each chunk still authenticates, the whole is not hashed
        buffer[:len(piece)] = piece
        self._pos += len(piece)
        if self._pos >= self.size:
            self._finish()
        return len(piece)

    def _load(self, index: int) -> bytes:
        if index != self._chunk_index:
            header = self._header
            last = index == self._segments - 1
            self._handle.seek(envelope.HEADER_BYTES + index * header.segment_bytes)
            segment = self._handle.read(header.segment_bytes)
            chunk = header.open(segment, index, last=last)
            expected = self.size - index * header.chunk_bytes if last else header.chunk_bytes
            if len(chunk) != expected or (last and self._handle.read(1)):
                raise TamperedEvidence(
                    f"Evidence object {self._blob.object_key} does not have the length that was preserved. Restore "
                    "it from a backup of the blob store and run `bastion evidence verify`.",
                    object_key=self._blob.object_key)
            self._chunk_index, self._chunk = index, chunk
            self.chunks_read += 1
            if self.on_chunk is not None:
                self.on_chunk(len(chunk))
        return self._chunk

    def _finish(self) -> None:
        if self.size == 0 and self._chunk_index < 0:
            self._load(0)  # an empty object still has one authenticated (empty, last) segment
        if self._digest is not None and self._hashed == self.size:
            digest, self._digest = self._digest.hexdigest(), None
            _check_digest(self._blob, digest)

    def close(self) -> None:
        if not self.closed:
            self._handle.close()
        super().close()


def rewrap(blob: EvidenceBlob, *, keys: KeyRing, new: MasterKey) -> None:
    """Wrap the blob's data key under `new`; the stored object is not touched."""
    data_key = envelope.unwrap(blob.wrapped_key, object_key=blob.object_key, sha256=blob.sha256,
                               master=keys.get(blob.key_id))
    blob.wrapped_key = envelope.wrap(data_key, object_key=blob.object_key, sha256=blob.sha256, master=new)
    blob.key_id = new.key_id
