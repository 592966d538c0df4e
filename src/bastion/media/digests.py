"""Cryptographic digests of the exact bytes (MD5, SHA-1, SHA-256) in one pass.

These match byte-identical copies only, but they work on any file, including
ones that fail to decode, and MD5 is still what many hash lists carry.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final

DEFAULT_CHUNK_SIZE: Final = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Digests:
    """Lower-case hex digests of one byte string."""

    md5: str
    sha1: str
    sha256: str


def compute_digests(
    source: bytes | bytearray | memoryview | BinaryIO,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Digests:
    """Digest bytes, or stream a binary file object from its current position to EOF.

    Streaming keeps memory flat for large files; all three digests are fed
    from the same read so the file is read once.
    """
    # usedforsecurity=False: these identify content, they do not protect it,
    # and the flag keeps MD5/SHA-1 available on FIPS-mode hosts.
    hashers = (
        hashlib.md5(usedforsecurity=False),
        hashlib.sha1(usedforsecurity=False),
        hashlib.sha256(),
    )
    for chunk in _chunks(source, chunk_size):
        for hasher in hashers:
            hasher.update(chunk)
    md5, sha1, sha256 = (hasher.hexdigest() for hasher in hashers)
    return Digests(md5=md5, sha1=sha1, sha256=sha256)


def _chunks(
    source: bytes | bytearray | memoryview | BinaryIO, chunk_size: int
) -> Iterator[bytes | bytearray | memoryview]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield source
        return
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    while chunk := source.read(chunk_size):
        yield chunk
