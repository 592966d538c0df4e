"""Sealed objects: content-addressed blobs, written once, read back with proof they are unchanged.

A blob is found by the SHA-256 of its plaintext, so the same bytes are stored once
however often they are preserved. Its object key in the store is random, not the
hash: listing the store must not reveal which known images the vault holds.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.evidence import envelope, txhooks
from bastion.evidence.errors import TamperedEvidence
from bastion.evidence.keys import KeyRing, MasterKey
from bastion.evidence.models import EvidenceBlob
from bastion.evidence.store import BlobStore


def new_object_key() -> str:
    name = uuid.uuid4().hex
    return f"{name[:2]}/{name}"


def store_once(
    session: Session, data: bytes, sha256: str, *, store: BlobStore, keys: KeyRing, clock: Clock
) -> EvidenceBlob:
    """The blob holding `data`: the existing one (locked, so a purge cannot drop it now) or a new one.

    A new object is written before its row; if the transaction rolls back, or a
    concurrent transaction stored the same bytes first, the object is removed again.
    """
    existing = _locked(session, sha256)
    if existing is not None:
        return existing
    object_key = new_object_key()
    stored, wrapped = envelope.seal(data, object_key=object_key, sha256=sha256, master=keys.current)
    store.put(object_key, stored)
    txhooks.on_rollback(session, lambda: store.delete(object_key))
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    inserted = session.scalar(
        insert(EvidenceBlob)
        .values(sha256=sha256, object_key=object_key, size=len(data), key_id=keys.current.key_id,
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


def read(blob: Sealed, *, store: BlobStore, keys: KeyRing) -> bytes:
    """The plaintext, proven unchanged: GCM authenticates it and its SHA-256 must match the row."""
    stored = store.get(blob.object_key)
    data_key = envelope.unwrap(blob.wrapped_key, object_key=blob.object_key, sha256=blob.sha256,
                               master=keys.get(blob.key_id))
    plaintext = envelope.unseal(stored, data_key, object_key=blob.object_key, sha256=blob.sha256)
    if hashlib.sha256(plaintext).hexdigest() != blob.sha256:
        raise TamperedEvidence(
            f"Evidence object {blob.object_key} decrypts, but not to the bytes that were preserved (SHA-256 "
            "differs). Restore the object and its database row from backups and run `bastion evidence verify`.",
            object_key=blob.object_key,
        )
    return plaintext


def rewrap(blob: EvidenceBlob, *, keys: KeyRing, new: MasterKey) -> None:
    """Wrap the blob's data key under `new`; the stored object is not touched."""
    data_key = envelope.unwrap(blob.wrapped_key, object_key=blob.object_key, sha256=blob.sha256,
                               master=keys.get(blob.key_id))
    blob.wrapped_key = envelope.wrap(data_key, object_key=blob.object_key, sha256=blob.sha256, master=new)
    blob.key_id = new.key_id
