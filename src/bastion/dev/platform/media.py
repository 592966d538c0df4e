"""Benign synthetic demo images: a colour gradient with a few flat shapes.

Generated, never loaded from anywhere, so the demo platform can never hold
real user media. Deterministic for a given ``seed`` (same bytes each run for a
given Pillow version), which keeps hashes stable across test runs.
"""

from __future__ import annotations

import io
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw

ImageFormat = Literal["PNG", "JPEG"]

MEDIA_TYPES: dict[ImageFormat, str] = {"PNG": "image/png", "JPEG": "image/jpeg"}


def render_image(seed: int, *, size: int = 160, fmt: ImageFormat = "PNG") -> bytes:
    """Encode a ``size``-pixel square gradient-and-shapes image."""
    rng = np.random.default_rng(seed)
    start, end = rng.integers(0, 256, size=(2, 3))
    ramp = np.linspace(0.0, 1.0, size)[:, None, None]
    gradient = (start + (end - start) * ramp).astype(np.uint8)
    pixels = np.broadcast_to(gradient, (size, size, 3)).copy()
    image = Image.fromarray(pixels, "RGB")

    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(2, 5))):
        x0, y0 = (int(v) for v in rng.integers(0, size * 3 // 4, size=2))
        extent = int(rng.integers(size // 8, size // 3))
        box = (x0, y0, x0 + extent, y0 + extent)
        colour = tuple(int(c) for c in rng.integers(0, 256, size=3))
        if rng.random() < 0.5:
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, fill=colour)

    out = io.BytesIO()
    if fmt == "JPEG":
        image.save(out, format="JPEG", quality=85)
    else:
        image.save(out, format="PNG", optimize=False)
    return out.getvalue()
