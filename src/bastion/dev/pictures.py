"""Benign synthetic pictures and the everyday alterations re-uploads go through.

Every image is drawn here from shapes, gradients and noise with a fixed seed: no
photograph, and certainly no abusive material, is involved anywhere.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps


def picture(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A deterministic abstract 'scene': a sky gradient, hills, and coloured shapes."""
    rng = np.random.default_rng(seed)
    width, height = size
    top, bottom = rng.integers(40, 255, 3), rng.integers(0, 200, 3)
    ramp = np.linspace(0, 1, height)[:, None, None]
    sky = (top * (1 - ramp) + bottom * ramp).astype(np.uint8).repeat(width, axis=1)
    image = Image.fromarray(sky, "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(3):  # hills
        base = int(rng.integers(height // 2, height))
        points = [(0, height)] + [(x, base - int(rng.integers(0, height // 3))) for x in range(0, width + 80, 80)]
        draw.polygon(points + [(width, height)], fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    for _ in range(int(rng.integers(6, 14))):  # shapes
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.integers(15, 90))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        else:
            draw.rectangle((x - r, y - r // 2, x + r, y + r // 2), fill=colour)
    noise = rng.normal(0, 6, (height, width, 3))
    pixels = np.clip(np.asarray(image, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB").filter(ImageFilter.GaussianBlur(0.6))


def encode(image: Image.Image, fmt: str = "JPEG", quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def _crop(image: Image.Image, fraction: float = 0.02) -> Image.Image:
    w, h = image.size
    dx, dy = int(w * fraction), int(h * fraction)
    return image.crop((dx, dy, w - dx, h - dy))


#: Name -> alteration. Each keeps the picture recognisable to PDQ.
ALTERATIONS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "resized": lambda im: im.resize((im.width * 3 // 5, im.height * 3 // 5), Image.Resampling.LANCZOS),
    "recompressed": lambda im: Image.open(io.BytesIO(encode(im, quality=35))).convert("RGB"),
    "rotated": lambda im: im.rotate(90, expand=True),
    "mirrored": ImageOps.mirror,
    "cropped": lambda im: _crop(im, 0.01),
}
