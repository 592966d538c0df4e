"""Helpers shared by the evidence tests."""

from __future__ import annotations

import io
import os
from pathlib import Path

from PIL import Image

from bastion.evidence import FsspecBlobStore


def object_path(store: FsspecBlobStore, object_key: str) -> Path:
    return Path(store.path(object_key))


def synthetic_jpeg(*, exif: dict[int, object] | None = None, size: tuple[int, int] = (32, 24)) -> bytes:
    """A noise image (benign, generated) as JPEG, with the given EXIF tags in IFD0."""
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buffer = io.BytesIO()
    tags = Image.Exif()
    for tag, value in (exif or {}).items():
        tags[tag] = value
    image.save(buffer, "JPEG", exif=tags)
    return buffer.getvalue()
