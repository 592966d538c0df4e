"""Where sealed objects live: a narrow `BlobStore` interface and its fsspec implementation.

The vault only ever puts, gets, deletes and lists opaque, already encrypted objects
by key, so any fsspec filesystem works: local files by default, S3/GCS/Azure when
one machine is not enough. Object keys are random (see `vault`), so a listing of
the store reveals nothing about the content.
"""

from __future__ import annotations

import os
import posixpath
import uuid
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, Protocol

from fsspec.core import url_to_fs  # type: ignore[import-untyped]

from bastion.evidence.errors import BlobMissing

_TMP_DIR = ".tmp"


class BlobStore(Protocol):
    """What the vault needs from storage; objects are immutable once put."""

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key` atomically: readers see all of it or nothing."""

    def put_stream(self, key: str, chunks: Iterable[bytes]) -> int:
        """Store the concatenated `chunks` under `key` atomically, one chunk in memory at a time; returns the size."""

    def get(self, key: str) -> bytes:
        """The object's bytes; raises BlobMissing when there is none."""

    def open_read(self, key: str) -> BinaryIO:
        """A seekable binary file of the object, to read in pieces; raises BlobMissing when there is none."""

    def delete(self, key: str) -> None:
        """Remove the object; removing a missing object is not an error."""

    def keys(self) -> Iterator[str]:
        """Every stored object key (never temporary files)."""

    def describe(self) -> str:
        """Where the objects are, for operators' messages."""


class FsspecBlobStore:
    """Objects as files under `root` on any fsspec filesystem.

    On a local (or other POSIX-like) filesystem a put writes a temporary file in the
    same root, fsyncs it and renames it into place, so a crash never leaves half an
    object under its final name. Object stores get a single PUT, which they already
    make atomic, since a "rename" there is a copy.
    """

    def __init__(self, url: str, **storage_options: Any) -> None:
        self.fs, self.root = url_to_fs(url, **storage_options)
        self.url = url
        protocols = (self.fs.protocol,) if isinstance(self.fs.protocol, str) else tuple(self.fs.protocol)
        self._local = "file" in protocols or "local" in protocols
        if self._local:  # the vault's files are its owner's alone: 0700 directories, 0600 objects
            self.fs.makedirs(posixpath.join(self.root, _TMP_DIR), exist_ok=True)
            os.chmod(self.root, 0o700)
            os.chmod(posixpath.join(self.root, _TMP_DIR), 0o700)

    def path(self, key: str) -> str:
        """The full path of an object; keys are relative POSIX paths without '..'."""
        if not key or key.startswith("/") or ".." in key.split("/") or key.split("/")[0] == _TMP_DIR:
            raise ValueError(f"invalid object key {key!r}")
        return posixpath.join(self.root, key)

    def put(self, key: str, data: bytes) -> None:
        final = self.path(key)
        self.fs.makedirs(posixpath.dirname(final), exist_ok=True)
        if not self._local:
            self.fs.pipe_file(final, data)
            return
        temp = posixpath.join(self.root, _TMP_DIR, uuid.uuid4().hex)
        try:
            with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            self.fs.mv(temp, final)
        except BaseException:
            if self.fs.exists(temp):
                self.fs.rm_file(temp)
            raise

    def put_stream(self, key: str, chunks: Iterable[bytes]) -> int:
        """Like `put`, for a stream: a temporary file renamed into place locally, a multipart upload elsewhere."""
        final = self.path(key)
        self.fs.makedirs(posixpath.dirname(final), exist_ok=True)
        size = 0
        if not self._local:
            with self.fs.open(final, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                    size += len(chunk)
            return size
        temp = posixpath.join(self.root, _TMP_DIR, uuid.uuid4().hex)
        try:
            with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                    size += len(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            self.fs.mv(temp, final)
        except BaseException:
            if self.fs.exists(temp):
                self.fs.rm_file(temp)
            raise
        return size

    def get(self, key: str) -> bytes:
        try:
            return bytes(self.fs.cat_file(self.path(key)))
        except FileNotFoundError:
            raise self._missing(key) from None

    def open_read(self, key: str) -> BinaryIO:
        try:
            return self.fs.open(self.path(key), "rb")  # type: ignore[no-any-return]
        except FileNotFoundError:
            raise self._missing(key) from None

    def _missing(self, key: str) -> BlobMissing:
        return BlobMissing(
            f"Evidence object {key} is missing from {self.describe()}. Restore it from a backup of the blob "
            "store, then run `bastion evidence verify`.",
            object_key=key,
        )

    def delete(self, key: str) -> None:
        try:
            self.fs.rm_file(self.path(key))
        except FileNotFoundError:
            return

    def keys(self) -> Iterator[str]:
        prefix = self.root.rstrip("/") + "/"
        for path in self.fs.find(self.root):
            key = path.removeprefix(prefix)
            if not key.startswith(_TMP_DIR + "/"):
                yield key

    def describe(self) -> str:
        return self.url
