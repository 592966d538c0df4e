"""Envelope encryption of one object: AES-256-GCM under a fresh data key, wrapped by a master key.

Two stored formats; every object says which it is in its first four bytes.

``BVE1`` (read only: objects written before streaming)::

    MAGIC | nonce (12) | ciphertext+tag          one GCM message over the whole plaintext

``BVE2`` (written since; chunked, so a large video is never whole in memory)::

    MAGIC | chunk size (u32, big-endian) | nonce prefix (7) | segment 0 | segment 1 | ...
    segment i = AESGCM(data key).encrypt(prefix | i (u32) | last (u8), chunk i, AAD)

Every chunk but the last holds exactly ``chunk size`` plaintext bytes; the last holds
the rest (possibly none) and is sealed with the ``last`` flag set. Because the segment
counter and the last flag are in the nonce (the STREAM construction), reordering,
dropping, duplicating or truncating segments fails authentication, not only flipped bits.
The AAD names the object key and the whole header, so an object file swapped for
another, or a header edited to another chunk size, does not authenticate either.

Wrapped key: ``nonce (12) | AESGCM(master).encrypt(data key)``, with associated data
naming the object key and the plaintext's SHA-256. In BVE1 the data AAD names the
SHA-256 too; BVE2 is written in one pass, before the digest is known, so it binds
the digest through the wrapped key (sealed after the last chunk) and readers check
the digest of what they decrypted against the row at the end of the stream.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bastion.evidence.errors import TamperedEvidence
from bastion.evidence.keys import MasterKey

MAGIC = b"BVE1"
MAGIC_STREAM = b"BVE2"
NONCE_BYTES = 12
TAG_BYTES = 16
PREFIX_BYTES = 7
HEADER_BYTES = len(MAGIC_STREAM) + 4 + PREFIX_BYTES
DEFAULT_CHUNK_BYTES = 1 << 20
MIN_CHUNK_BYTES = 1 << 10
MAX_CHUNK_BYTES = 64 << 20
_DATA_LABEL = b"bastion.evidence.data.v1"
_STREAM_LABEL = b"bastion.evidence.data.v2"
_WRAP_LABEL = b"bastion.evidence.dek.v1"


def _aad(label: bytes, object_key: str, sha256: str) -> bytes:
    return b"\x00".join((label, object_key.encode(), sha256.encode()))


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(plaintext: bytes, *, object_key: str, sha256: str, master: MasterKey,
         chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> tuple[bytes, bytes]:
    """Encrypt `plaintext` (in the chunked format); returns (stored object bytes, wrapped data key)."""
    data_key = new_data_key()
    stored = b"".join(seal_stream(_chunks_of(plaintext, chunk_bytes), data_key, object_key=object_key,
                                  chunk_bytes=chunk_bytes))
    return stored, wrap(data_key, object_key=object_key, sha256=sha256, master=master)


def _chunks_of(data: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


def check_chunk_bytes(chunk_bytes: int) -> int:
    if not MIN_CHUNK_BYTES <= chunk_bytes <= MAX_CHUNK_BYTES:
        raise ValueError(f"the evidence chunk size must be between {MIN_CHUNK_BYTES} and {MAX_CHUNK_BYTES} bytes")
    return chunk_bytes


def seal_stream(chunks: Iterable[bytes], data_key: bytes, *, object_key: str,
                chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Iterator[bytes]:
    """The stored object, header first, one sealed segment at a time.

    `chunks` may be of any sizes; they are re-cut to `chunk_bytes`. At most two
    chunks are held at once: the last one must be known to be last before sealing.
    """
    check_chunk_bytes(chunk_bytes)
    header = MAGIC_STREAM + struct.pack(">I", chunk_bytes) + secrets.token_bytes(PREFIX_BYTES)
    yield header
    aead, aad, prefix = AESGCM(data_key), _stream_aad(object_key, header), header[-PREFIX_BYTES:]
    index, pending = 0, None
    for chunk in _recut(chunks, chunk_bytes):
        if pending is not None:
            yield aead.encrypt(_nonce(prefix, index, last=False), pending, aad)
            index += 1
        pending = chunk
    yield aead.encrypt(_nonce(prefix, index, last=True), pending or b"", aad)


def _recut(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


def _stream_aad(object_key: str, header: bytes) -> bytes:
    return b"\x00".join((_STREAM_LABEL, object_key.encode(), header))


def _nonce(prefix: bytes, index: int, *, last: bool) -> bytes:
    if index >= 1 << 32:
        raise ValueError("an evidence object has at most 2**32 chunks; use a larger chunk size")
    return prefix + struct.pack(">IB", index, 1 if last else 0)


class StreamHeader:
    """The parsed header of a BVE2 object, and what is needed to open any of its segments."""

    def __init__(self, header: bytes, data_key: bytes, *, object_key: str) -> None:
        if len(header) != HEADER_BYTES or not header.startswith(MAGIC_STREAM):
            raise _tampered(object_key, "its header is not a sealed evidence header")
        (self.chunk_bytes,) = struct.unpack(">I", header[4:8])
        if not MIN_CHUNK_BYTES <= self.chunk_bytes <= MAX_CHUNK_BYTES:
            raise _tampered(object_key, "its header names an impossible chunk size")
        self.object_key = object_key
        self._aead, self._prefix = AESGCM(data_key), header[-PREFIX_BYTES:]
        self._aad = _stream_aad(object_key, header)

    @property
    def segment_bytes(self) -> int:
        return self.chunk_bytes + TAG_BYTES

    def segments(self, size: int) -> int:
        """How many segments an object of `size` plaintext bytes has (an empty one has one, empty)."""
        return max(1, -(-size // self.chunk_bytes))

    def open(self, segment: bytes, index: int, *, last: bool) -> bytes:
        try:
            return self._aead.decrypt(_nonce(self._prefix, index, last=last), segment, self._aad)
        except InvalidTag:
            raise _tampered(self.object_key, f"chunk {index} does not authenticate") from None


def wrap(data_key: bytes, *, object_key: str, sha256: str, master: MasterKey) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(master.secret).encrypt(nonce, data_key, _aad(_WRAP_LABEL, object_key, sha256))


def unwrap(wrapped: bytes, *, object_key: str, sha256: str, master: MasterKey) -> bytes:
    """The data key; the master key must be the one whose id the row records."""
    try:
        return AESGCM(master.secret).decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _aad(_WRAP_LABEL, object_key, sha256)
        )
    except InvalidTag:
        raise TamperedEvidence(
            f"The wrapped data key of evidence object {object_key} does not authenticate: its database row was "
            "altered or copied from another object. Restore the row from a backup and run `bastion evidence verify`."
        ) from None


def unseal(stored: bytes, data_key: bytes, *, object_key: str, sha256: str) -> bytes:
    """Decrypt a whole BVE1 object; raises TamperedEvidence on any change to it."""
    if not stored.startswith(MAGIC) or len(stored) < len(MAGIC) + NONCE_BYTES + TAG_BYTES:
        raise _tampered(object_key, "it is not a sealed evidence object")
    nonce, body = stored[len(MAGIC):len(MAGIC) + NONCE_BYTES], stored[len(MAGIC) + NONCE_BYTES:]
    try:
        return AESGCM(data_key).decrypt(nonce, body, _aad(_DATA_LABEL, object_key, sha256))
    except InvalidTag:
        raise _tampered(object_key, "its ciphertext does not authenticate") from None


def seal_v1(plaintext: bytes, *, object_key: str, sha256: str, master: MasterKey) -> tuple[bytes, bytes]:
    """The old single-message format; kept so tests can prove old objects still read."""
    data_key = new_data_key()
    nonce = secrets.token_bytes(NONCE_BYTES)
    body = AESGCM(data_key).encrypt(nonce, plaintext, _aad(_DATA_LABEL, object_key, sha256))
    return MAGIC + nonce + body, wrap(data_key, object_key=object_key, sha256=sha256, master=master)


def _tampered(object_key: str, why: str) -> TamperedEvidence:
    return TamperedEvidence(
        f"Evidence object {object_key} was altered in storage ({why}). Do not use it; restore the object "
        "from a backup of the blob store and run `bastion evidence verify`.",
        object_key=object_key,
    )
