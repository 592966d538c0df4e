"""Streaming ``multipart/form-data`` body for ``POST /upload``.

httpx's own multipart encoder takes file objects only; this one also takes an
iterator of chunks, hashes what it sends (so the MD5 NCMEC returns can be
checked against what actually left), and never holds more than one chunk.
"""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Iterable, Iterator
from typing import BinaryIO, cast

__all__ = ["CHUNK_SIZE", "MultipartUpload", "UploadSource"]

CHUNK_SIZE = 64 * 1024

UploadSource = BinaryIO | Iterable[bytes]


def _quote(value: str) -> str:
    # Header parameter values: no line breaks, quotes and backslashes escaped.
    cleaned = value.replace("\r", " ").replace("\n", " ")
    return cleaned.replace("\\", "\\\\").replace('"', '\\"')


class MultipartUpload:
    """An iterable request body: field ``id``, then field ``file``.

    After iteration, :attr:`md5` and :attr:`size` describe the bytes streamed.
    ``content_length`` is known up front only for seekable file objects; the
    body is then read to exactly that length, and a source that shrank while
    being read raises ``ValueError`` (the truncated request is never complete,
    so NCMEC cannot accept it).
    """

    def __init__(self, report_id: int, source: UploadSource, *, filename: str, content_type: str) -> None:
        if isinstance(source, (bytes, bytearray, memoryview, str)):
            raise TypeError("upload streams its input: pass a binary file object or an iterator of byte chunks")
        self._source = source
        self._boundary = "bastion-" + secrets.token_hex(16)
        self._head = (
            f"--{self._boundary}\r\n"
            'Content-Disposition: form-data; name="id"\r\n\r\n'
            f"{int(report_id)}\r\n"
            f"--{self._boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{_quote(filename)}"\r\n'
            f"Content-Type: {_quote(content_type)}\r\n\r\n"
        ).encode()
        self._tail = f"\r\n--{self._boundary}--\r\n".encode()
        self._payload_length = _remaining_length(source)
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0
        self._consumed = False

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self._boundary}"

    @property
    def content_length(self) -> int | None:
        if self._payload_length is None:
            return None
        return len(self._head) + self._payload_length + len(self._tail)

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()

    def __iter__(self) -> Iterator[bytes]:
        if self._consumed:
            raise RuntimeError("an upload body can be sent once only")
        self._consumed = True
        yield self._head
        for chunk in self._chunks():
            self._md5.update(chunk)
            self.size += len(chunk)
            yield chunk
        if self._payload_length is not None and self.size != self._payload_length:
            raise ValueError(f"upload source changed while streaming: {self.size} of {self._payload_length} bytes")
        yield self._tail

    def _chunks(self) -> Iterator[bytes]:
        if _is_reader(self._source):
            reader = cast(BinaryIO, self._source)
            limit = self._payload_length
            while limit is None or self.size < limit:
                want = CHUNK_SIZE if limit is None else min(CHUNK_SIZE, limit - self.size)
                chunk = reader.read(want)
                if not chunk:
                    return
                yield bytes(chunk)
            return
        for chunk in self._source:
            if not isinstance(chunk, (bytes, bytearray, memoryview)):
                raise TypeError(f"upload iterator yielded {type(chunk).__name__}, expected bytes")
            if chunk:
                yield bytes(chunk)


def _is_reader(source: UploadSource) -> bool:
    return callable(getattr(source, "read", None))


def _remaining_length(source: UploadSource) -> int | None:
    """Bytes left in a seekable file object, else None (the body is then sent chunked)."""
    if not _is_reader(source):
        return None
    reader = cast(BinaryIO, source)
    try:
        if not reader.seekable():
            return None
        here = reader.tell()
        end = reader.seek(0, io.SEEK_END)
        reader.seek(here)
    except (OSError, ValueError, AttributeError):
        return None
    return int(end - here)
