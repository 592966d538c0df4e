"""Sending a file held by the vault: streamed from its reader a piece at a time, then closed."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO

from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

PIECE_BYTES = 1 << 20


def attachment(reader: IO[bytes], filename: str, media_type: str, headers: dict[str, str]) -> StreamingResponse:
    """`reader` as a download named `filename`; its length is sent when the reader can tell it."""
    sent = {"Content-Disposition": f'attachment; filename="{filename}"', **headers}
    try:
        here = reader.tell()
        sent["Content-Length"] = str(reader.seek(0, io.SEEK_END) - here)
        reader.seek(here)
    except (OSError, ValueError, AttributeError):
        pass
    return StreamingResponse(_pieces(reader), media_type=media_type, headers=sent,
                             background=BackgroundTask(reader.close))


def _pieces(reader: IO[bytes]) -> Iterator[bytes]:
    while piece := reader.read(PIECE_BYTES):
        yield piece
