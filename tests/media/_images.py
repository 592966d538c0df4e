"""Benign synthetic images and reference hashes shared by the media tests.

Every image here is generated from numpy noise, gradients and geometric
shapes, or loaded from scikit-image's bundled sample photos.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import numpy.typing as npt
import pdqhash
from PIL import Image, ImageDraw

RGB = npt.NDArray[np.uint8]

SKIMAGE_PHOTOS = (
    "astronaut", "brick", "camera", "cat", "cell", "checkerboard", "chelsea", "clock",
    "coffee", "coins", "colorwheel", "grass", "gravel", "hubble_deep_field",
    "immunohistochemistry", "logo", "microaneurysms", "moon", "page", "retina",
    "rocket", "text",
)  # fmt: skip
"""Colour and grey sample images bundled with scikit-image (no download needed)."""

SIZES = (
    (1, 1), (1, 2), (2, 1), (2, 2), (3, 3), (2, 3), (3, 1), (1, 3),
    (5, 7), (7, 5), (16, 16), (17, 31), (31, 17), (64, 64), (63, 65), (100, 37),
    (37, 100), (127, 128), (128, 127), (129, 129), (200, 300), (300, 200),
    (257, 129), (17, 400), (400, 17), (333, 500), (384, 512), (480, 640),
)  # fmt: skip
"""(height, width) pairs: tiny, odd, non-square and PDQ's resampling edge cases."""


def skimage_photo(name: str) -> RGB:
    """A scikit-image sample as 8-bit pixels (grey stays 2-D, RGBA stays 4-channel)."""
    from skimage import data

    image = getattr(data, name)()
    assert image.dtype == np.uint8, name
    return image


def encode(pixels: npt.NDArray[Any] | Image.Image, fmt: str, **params: Any) -> bytes:
    """Encode an array (or an image) with Pillow."""
    image = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def reference_pdq(encoded: bytes) -> tuple[str, int]:
    """The ThreatExchange recipe: Pillow RGB pixels into pdqhash, hex via int()."""
    with Image.open(io.BytesIO(encoded)) as image:
        rgb = np.asarray(image.convert("RGB"))
    return reference_pdq_pixels(rgb)


def reference_pdq_pixels(rgb: RGB) -> tuple[str, int]:
    """pdqhash on C-ordered RGB pixels, hex formatted independently of our packbits."""
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb))
    return format(int("".join(str(int(b)) for b in bits), 2), "064x"), int(quality)


def generated_images(count: int, seed: int = 2024) -> Iterator[tuple[str, RGB]]:
    """``count`` varied synthetic RGB images, deterministic for a given seed."""
    kinds = list(_GENERATORS.items())
    for index in range(count):
        rng = np.random.default_rng([seed, index])
        height, width = SIZES[index % len(SIZES)]
        name, make = kinds[(index // len(SIZES) + index) % len(kinds)]
        yield f"{index:03d}-{name}-{height}x{width}", make(rng, height, width)


def _gradient(rng: np.random.Generator, h: int, w: int) -> RGB:
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    angles = rng.uniform(0, 2 * np.pi, size=3)
    channels = [np.cos(a) * x / max(w, 1) + np.sin(a) * y / max(h, 1) for a in angles]
    return _to_uint8(np.stack(channels, axis=-1))


def _radial(rng: np.random.Generator, h: int, w: int) -> RGB:
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = rng.uniform(0, h), rng.uniform(0, w)
    radius = np.hypot(y - cy, x - cx)
    return _to_uint8(np.stack([radius, radius**0.5, -radius], axis=-1))


def _noise(rng: np.random.Generator, h: int, w: int) -> RGB:
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def _smooth_noise(rng: np.random.Generator, h: int, w: int) -> RGB:
    coarse = rng.integers(
        0, 256, size=(max(h // 8, 2), max(w // 8, 2), 3), dtype=np.uint8
    )
    return np.asarray(Image.fromarray(coarse).resize((w, h), Image.Resampling.BICUBIC))


def _stripes(rng: np.random.Generator, h: int, w: int) -> RGB:
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    fx, fy = rng.uniform(0.01, 0.5, size=2)
    wave = np.sin(fx * x + fy * y + rng.uniform(0, 6))
    colour = rng.integers(0, 256, size=3)
    return _to_uint8(wave[..., None] * colour)


def _checker(rng: np.random.Generator, h: int, w: int) -> RGB:
    cell = int(rng.integers(1, 40))
    y, x = np.mgrid[0:h, 0:w]
    board = ((y // cell + x // cell) % 2).astype(np.uint8)
    a, b = rng.integers(0, 256, size=(2, 3), dtype=np.uint8)
    return np.where(board[..., None] == 1, a, b).astype(np.uint8)


def _shapes(rng: np.random.Generator, h: int, w: int) -> RGB:
    image = Image.new("RGB", (w, h), tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 12))):
        x0, x1 = sorted(rng.integers(0, w + 1, size=2).tolist())
        y0, y1 = sorted(rng.integers(0, h + 1, size=2).tolist())
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=fill)
    return np.asarray(image)


def _solid(rng: np.random.Generator, h: int, w: int) -> RGB:
    return np.broadcast_to(rng.integers(0, 256, 3, dtype=np.uint8), (h, w, 3)).copy()


def _mixture(rng: np.random.Generator, h: int, w: int) -> RGB:
    blend = _gradient(rng, h, w).astype(np.int16) + _noise(rng, h, w) // 4 - 32
    return np.clip(blend, 0, 255).astype(np.uint8)


_GENERATORS: dict[str, Callable[[np.random.Generator, int, int], RGB]] = {
    "gradient": _gradient,
    "radial": _radial,
    "noise": _noise,
    "smooth_noise": _smooth_noise,
    "stripes": _stripes,
    "checker": _checker,
    "shapes": _shapes,
    "solid": _solid,
    "mixture": _mixture,
}


def _to_uint8(values: npt.NDArray[np.float64]) -> RGB:
    """Stretch each channel to 0..255."""
    low = values.min(axis=(0, 1), keepdims=True)
    span = values.max(axis=(0, 1), keepdims=True) - low
    return np.rint(255 * (values - low) / np.where(span == 0, 1, span)).astype(np.uint8)


def png_with_header(
    width: int, height: int, *, bit_depth: int = 8, idat: bytes | None = None
) -> bytes:
    """A structurally valid PNG (good CRCs) whose IHDR declares any size.

    ``idat`` is the zlib-compressed pixel stream; by default it is empty.
    """

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 0, 0, 0, 0)
    pixels = zlib.compress(b"") if idat is None else idat
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", pixels)
        + chunk(b"IEND", b"")
    )


def all_black_bilevel_png(side: int) -> bytes:
    """A genuine, decodable 1-bit black PNG of side x side pixels; compresses tiny."""
    row = bytes(1 + (side + 7) // 8)  # filter byte + packed bits, all zero
    return png_with_header(side, side, bit_depth=1, idat=zlib.compress(row * side, 9))
