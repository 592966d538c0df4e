"""Resource caps applied before any pixel is decoded."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from PIL import Image

from bastion.media.errors import MediaTooLarge

MIB: Final = 1024 * 1024

# Pillow's own default ``Image.MAX_IMAGE_PIXELS``: a quarter GiB of 24-bit pixels.
# Using the same number means Pillow's process-wide guard and ours agree, so
# Pillow never warns about an image we would accept.
PILLOW_DEFAULT_MAX_PIXELS: Final = 1024 * 1024 * 1024 // 4 // 3


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Caps that keep one hostile upload from exhausting a worker.

    ``max_bytes`` bounds what we read and hash; ``max_pixels`` bounds what we
    allocate, checked against the size declared in the header *before* pixels
    are decoded (a tiny file can declare gigapixels). Pillow's process-wide
    ``Image.MAX_IMAGE_PIXELS`` still applies on top: the stricter limit wins,
    so to accept larger images also call :func:`apply_to_pillow` at startup.
    """

    max_bytes: int = 50 * MIB
    max_pixels: int = PILLOW_DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"DecodeLimits.{name} must be a positive int, got {value!r}"
                )

    def check_bytes(self, size: int) -> None:
        """Raise :class:`MediaTooLarge` if ``size`` bytes exceed ``max_bytes``."""
        if size > self.max_bytes:
            raise MediaTooLarge(
                f"The file is {size:,} bytes, over the {self.max_bytes:,}-byte limit. "
                "Upload a smaller file, or ask an administrator to raise the limit."
            )


DEFAULT_LIMITS: Final = DecodeLimits()


def apply_to_pillow(limits: DecodeLimits) -> None:
    """Set Pillow's process-wide pixel guard to ``limits.max_pixels``.

    Call once at startup when the configured cap differs from Pillow's
    default, so Pillow neither refuses images we allow nor warns about them.
    It is process-global state, hence a deliberate call rather than
    something decoding does per request.
    """
    Image.MAX_IMAGE_PIXELS = limits.max_pixels


def effective_pixel_limit(limits: DecodeLimits) -> int:
    """The stricter of our cap and Pillow's process-wide one (None = disabled)."""
    pillow_limit = Image.MAX_IMAGE_PIXELS
    return limits.max_pixels if pillow_limit is None else min(limits.max_pixels, pillow_limit)
