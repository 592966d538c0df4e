"""Benign test images, made here (never abusive material)."""

from __future__ import annotations

import io

from PIL import Image

from bastion.dev.pictures import ALTERATIONS, encode, picture


def jpeg(seed: int, alteration: str | None = None) -> bytes:
    image = picture(seed)
    if alteration:
        image = ALTERATIONS[alteration](image)
    return encode(image)


def png(seed: int) -> bytes:
    return encode(picture(seed), "PNG")


def bomb_png() -> bytes:
    """A tiny PNG whose header declares 20000 x 20000 pixels."""
    image = Image.new("1", (20000, 20000))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
