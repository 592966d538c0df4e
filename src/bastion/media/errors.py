"""Typed errors raised while decoding and hashing untrusted media.

Every error carries a machine-readable ``code`` (stable: API clients and audit
logs key on it), an HTTP-ish ``status`` for the web layer, and a ``message``
written for the person who uploaded the file, saying what to do next. This
package may not import the rest of Bastion, so the shape mirrors
``bastion.errors.BastionError`` instead of inheriting from it.
"""

from __future__ import annotations

from typing import ClassVar


class MediaError(Exception):
    """Base class of every refusal from :mod:`bastion.media`."""

    code: ClassVar[str] = "media_error"
    status: ClassVar[int] = 422

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnsupportedMedia(MediaError):
    """The bytes are not an image in a format we agree to decode."""

    code = "unsupported_media"
    status = 415


class MediaTooLarge(MediaError):
    """The file is bigger than the configured byte cap."""

    code = "too_large"
    status = 413


class DecompressionBomb(MediaError):
    """The header declares more pixels than we agree to allocate."""

    code = "decompression_bomb"
    status = 413


class CorruptMedia(MediaError):
    """The format was recognised but the data is truncated or damaged."""

    code = "corrupt_media"
    status = 422


class InvalidHash(MediaError, ValueError):
    """A hash string is malformed for its signal type.

    Also a ``ValueError`` so generic input-validation handlers catch it.
    """

    code = "invalid_hash"
    status = 422

    def __init__(self, signal_type: str, value: object, expected: str) -> None:
        self.signal_type = signal_type
        self.value = value
        super().__init__(
            f"{_preview(value)} is not a valid {signal_type} hash: "
            f"expected {expected}. Check that it was copied completely and "
            "without extra characters."
        )


def _preview(value: object, limit: int = 80) -> str:
    """Quote a rejected value without letting a huge one flood logs."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} chars)"
