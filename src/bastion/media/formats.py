"""Which image formats we agree to open, and how to recognise them.

An allow-list rather than Pillow's "anything it has a plugin for": several
plugins are risky on untrusted input (EPS hands the file to Ghostscript) and
obscure formats add attack surface without helping anyone.
"""

from __future__ import annotations

import io
from functools import cache
from typing import Final

from PIL import Image

SUPPORTED_FORMATS: Final = ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP", "AVIF")
"""Pillow format ids we open; camera multi-picture JPEGs arrive as ``"MPO"``."""


@cache
def available_formats() -> tuple[str, ...]:
    """The allow-listed formats this Pillow build can open.

    ``Image.open`` raises ``KeyError`` for a format id it does not know, so
    formats whose codec was not compiled in (e.g. AVIF) are filtered out.
    """
    Image.init()
    return tuple(name for name in SUPPORTED_FORMATS if name in Image.OPEN)


def has_supported_signature(data: bytes | bytearray | memoryview) -> bool:
    """Whether an allow-listed format's magic-number check accepts the data.

    Tells "a damaged JPEG" (corrupt) apart from "not an image at all"
    (unsupported) when Pillow could not identify the file.
    """
    prefix = bytes(data[:16])
    for name in available_formats():
        accept = Image.OPEN[name][1]
        if accept is not None and accept(prefix) is True:
            return True
    return False


def header_size(data: bytes | bytearray | memoryview) -> tuple[int, int] | None:
    """The width and height an allow-listed image's header declares, or None when none reads it.

    Why not ``Image.open``: it runs Pillow's bomb check on the way, which *warns* between
    ``MAX_IMAGE_PIXELS`` and twice it. Turning that warning into an error per call needs
    ``warnings.catch_warnings``, which is process-global and unsafe on the decode thread pool.
    Asking each format's own opener (the registry ``Image.open`` itself walks) reads the same
    header with no check, so the caller compares the size against its limit and refuses first.
    """
    prefix = bytes(data[:16])
    for name in available_formats():
        factory, accept = Image.OPEN[name]
        if accept is not None and not accept(prefix):
            continue
        try:
            image = factory(io.BytesIO(data), "")
        except Exception:  # noqa: BLE001  (not this format, or a damaged header: try the next)
            continue
        with image:
            width, height = image.size
        return int(width), int(height)
    return None
