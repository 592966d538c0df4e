"""Hardened decoding of untrusted image bytes into RGB pixels.

Uploads are hostile by default, so decoding is staged to fail cheaply:

1. the byte length is checked against :class:`DecodeLimits` before Pillow
   sees anything;
2. only an allow-list of mainstream raster formats is opened (never EPS and
   friends, which shell out to Ghostscript);
3. the pixel count declared in the header is checked before any pixel is
   decoded, and before ``Image.open``: :func:`~bastion.media.formats.header_size`
   reads the size through the format's own opener, so Pillow's bomb guard
   never gets to *warn* (its warning fires between ``MAX_IMAGE_PIXELS`` and
   twice it, and turning it into an error per call would need
   ``warnings.catch_warnings``, which is process-global and not thread-safe on
   the decode pool). The effective cap is the stricter of ours and Pillow's
   (:func:`~bastion.media.limits.effective_pixel_limit`); Pillow's own
   ``DecompressionBombError`` still becomes our :class:`DecompressionBomb`;
4. truncated or damaged data raises :class:`CorruptMedia`, never a partial
   image (this relies on Pillow's default ``ImageFile.LOAD_TRUNCATED_IMAGES =
   False``).

Multi-frame files (animated GIF/WebP/PNG, multi-page TIFF) are decoded to their
first frame only; the result records that they were animated and how many
frames they hold.
"""

from __future__ import annotations

import io
import logging
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageOps, UnidentifiedImageError

from bastion.media.errors import (
    CorruptMedia,
    DecompressionBomb,
    MediaError,
    UnsupportedMedia,
)
from bastion.media.formats import available_formats, has_supported_signature, header_size
from bastion.media.limits import DEFAULT_LIMITS, DecodeLimits, effective_pixel_limit
from bastion.media.pixels import RGBArray, to_rgb_array

logger = logging.getLogger(__name__)

FAST_DECODE_SAMPLES_PER_WINDOW: Final = 4
"""How coarsely the fast path may decode: at least this many samples per PDQ box-filter window.

PDQ averages each axis with a box ``ceil(side / 128)`` pixels wide (twice) before keeping 64
samples, so detail finer than that window never reaches the hash. libjpeg can decode at 1/2, 1/4
or 1/8 scale inside its DCT, which gives (close to) the means of 2, 4 or 8-pixel blocks, and the
hash is then computed with the full-size image's own kernel (:func:`bastion.media.pdq.pdq_reduced`).
Measured on the photo corpus at 2048 px (``bench/bench_hashing.py``): 4 samples per window
(1/4 scale) land a mean 0.7 bits from the exact hash, p99 4; 2 samples (1/8) a mean 2.3, p99 8.
"""

# Pillow's plugins raise a zoo of exception types on damaged input; any of
# them after the format was recognised means the file is corrupt.
_DECODER_FAILURES: Final = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
)


@dataclass(frozen=True, slots=True, eq=False)
class DecodedImage:
    """The first frame of an image as RGB pixels, plus what we learned on the way.

    ``width``/``height`` are the full-resolution dimensions after EXIF
    orientation, even when the fast path decoded fewer ``pixels``.
    """

    pixels: RGBArray
    width: int
    height: int
    format: str
    mode: str
    animated: bool
    frame_count: int


def decode_image(
    data: bytes | bytearray | memoryview,
    limits: DecodeLimits = DEFAULT_LIMITS,
    *,
    fast: bool = False,
) -> DecodedImage:
    """Decode untrusted image bytes into upright RGB pixels, or raise a MediaError.

    With ``fast=True`` large JPEGs are decoded at a reduced scale (Pillow's
    draft mode, see :func:`fast_decode_scale`); ``pixels`` is then smaller
    than ``width x height``. Other formats are decoded exactly either way.
    """
    _check_byte_size(memoryview(data).nbytes, limits)
    declared = header_size(data)
    if declared is not None:  # refused here, before Pillow's own check inside Image.open can warn
        _check_pixel_count(*declared, limits)
    with _pillow_errors_as_media_errors(data), _open(data) as image:
        width, height = image.size
        _check_pixel_count(width, height, limits)
        source_format, source_mode = image.format or "UNKNOWN", image.mode
        frame_count = _frame_count(image)
        scale = fast_decode_scale(width, height) if fast else 1
        if scale > 1:
            # Pillow picks the largest JPEG scale that keeps at least the requested size.
            image.draft("RGB", (width // scale, height // scale))
        image.load()
        if _apply_exif_orientation(image):
            width, height = height, width
        pixels = to_rgb_array(image)
    return DecodedImage(
        pixels=pixels,
        width=width,
        height=height,
        format=source_format,
        mode=source_mode,
        animated=frame_count > 1,
        frame_count=frame_count,
    )


def fast_decode_scale(width: int, height: int) -> int:
    """The JPEG scale reduction (1, 2, 4 or 8) the fast path uses for an image of this size.

    The largest that leaves :data:`FAST_DECODE_SAMPLES_PER_WINDOW` decoded samples in PDQ's
    box-filter window along the shorter side (2048 px: 1/4; 1024 px: 1/2; under 897 px: none).
    """
    window = (min(width, height) + 127) // 128
    for scale in (8, 4, 2):
        if window >= scale * FAST_DECODE_SAMPLES_PER_WINDOW:
            return scale
    return 1


def _check_byte_size(size: int, limits: DecodeLimits) -> None:
    if size == 0:
        raise UnsupportedMedia(
            "The file is empty (0 bytes). Choose an image file and try again."
        )
    limits.check_bytes(size)


def _check_pixel_count(width: int, height: int, limits: DecodeLimits) -> None:
    if width < 1 or height < 1:
        raise CorruptMedia(
            f"The image header declares an empty {width}x{height} image; "
            "the file is damaged."
        )
    limit = effective_pixel_limit(limits)
    if width * height > limit:
        raise DecompressionBomb(
            f"The image declares {width}x{height} = {width * height:,} pixels, "
            f"over the {limit:,}-pixel limit (a possible decompression bomb), so "
            "it was not decoded. Resize it to fewer pixels and try again."
        )


@contextmanager
def _open(data: bytes | bytearray | memoryview) -> Iterator[Image.Image]:
    """Open (lazily: header only) with the format allow-list."""
    with Image.open(io.BytesIO(data), formats=available_formats()) as image:
        yield image


@contextmanager
def _pillow_errors_as_media_errors(
    data: bytes | bytearray | memoryview,
) -> Iterator[None]:
    """Translate whatever Pillow raises on hostile input into our typed errors."""
    try:
        yield
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # The warning arrives as an exception when warnings are errors (-W error).
        raise DecompressionBomb(
            "The image declares more pixels than the safety limit allows (a possible "
            "decompression bomb), so it was not decoded. Resize it and try again."
        ) from exc
    except UnidentifiedImageError as exc:
        if has_supported_signature(data):
            raise CorruptMedia(
                "The file starts like a supported image but its header is damaged or "
                "truncated. Upload the original file again."
            ) from exc
        raise UnsupportedMedia(
            "The file is not an image in a supported format "
            f"({', '.join(available_formats())}). "
            "Convert it to JPEG or PNG and try again."
        ) from exc
    except _DECODER_FAILURES as exc:
        raise CorruptMedia(
            "The image data is truncated or damaged and could not be decoded. "
            "Upload the original file again; if that fails too, re-save it "
            "with an image editor."
        ) from exc


def _frame_count(image: Image.Image) -> int:
    """Frames in the file; counting skips frame data without decoding it."""
    count = getattr(image, "n_frames", 1)
    return count if isinstance(count, int) and count > 0 else 1


def _apply_exif_orientation(image: Image.Image) -> bool:
    """Rotate/flip the loaded image upright in place; True if width and height swapped.

    A damaged EXIF block must not make the image un-hashable (browsers still
    show it), so orientation failures are logged and the image kept as stored.
    """
    before = image.size
    try:
        ImageOps.exif_transpose(image, in_place=True)
    except _DECODER_FAILURES:
        logger.warning("ignoring unreadable EXIF orientation", exc_info=True)
        return False
    return image.size != before


__all__ = [
    "FAST_DECODE_SAMPLES_PER_WINDOW",
    "DecodedImage",
    "decode_image",
    "fast_decode_scale",
]
