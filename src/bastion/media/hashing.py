"""One call from uploaded bytes to every hash Bastion matches on."""

from __future__ import annotations

import os
from dataclasses import dataclass

from bastion.media.decode import decode_image
from bastion.media.digests import compute_digests
from bastion.media.limits import DEFAULT_LIMITS, DecodeLimits
from bastion.media.pdq import pdq_dihedral, pdq_hash, pdq_reduced
from bastion.media.signal_types import MD5, PDQ, SHA1, SHA256


@dataclass(frozen=True, slots=True)
class MediaHashes:
    """Exact-byte digests, the PDQ hash, and what the decoder saw.

    ``width``/``height`` are the upright, full-resolution dimensions;
    ``format``/``mode`` are Pillow's names for the stored encoding.
    ``dihedral`` holds the eight PDQ variants (see
    :data:`bastion.media.pdq.DIHEDRAL_VARIANTS`) when they were requested.
    """

    md5: str
    sha1: str
    sha256: str
    pdq: str
    pdq_quality: int
    width: int
    height: int
    format: str
    mode: str
    animated: bool
    frame_count: int
    dihedral: tuple[str, ...] | None = None

    def signals(self) -> dict[str, str]:
        """Signal type -> hash value, the shape hash-list matching consumes."""
        return {PDQ: self.pdq, MD5: self.md5, SHA1: self.sha1, SHA256: self.sha256}


def hash_media(
    data: bytes | bytearray | memoryview,
    limits: DecodeLimits = DEFAULT_LIMITS,
    dihedral: bool = False,
    *,
    fast: bool = False,
) -> MediaHashes:
    """Hash an uploaded image, or raise a :class:`~bastion.media.errors.MediaError`.

    ``fast=True`` decodes large JPEGs at reduced scale and applies PDQ's
    full-size filter to them (at 2048 px: 10x faster, a mean 0.7 bits from
    the exact hash); the default is exact. When decoding is refused the
    bytes can still be matched exactly with
    :func:`bastion.media.digests.compute_digests`.
    """
    decoded = decode_image(data, limits, fast=fast)
    digests = compute_digests(data)
    if decoded.pixels.shape[:2] != (decoded.height, decoded.width):  # the fast path reduced it
        variants = pdq_reduced(decoded.pixels, decoded.height, decoded.width)
        pdq, quality = variants.hashes[0], variants.quality
        extra = variants.hashes if dihedral else None
    elif dihedral:
        variants = pdq_dihedral(decoded.pixels)
        pdq, quality, extra = variants.hashes[0], variants.quality, variants.hashes
    else:
        single = pdq_hash(decoded.pixels)
        pdq, quality, extra = single.hex, single.quality, None
    return MediaHashes(
        md5=digests.md5,
        sha1=digests.sha1,
        sha256=digests.sha256,
        pdq=pdq,
        pdq_quality=quality,
        width=decoded.width,
        height=decoded.height,
        format=decoded.format,
        mode=decoded.mode,
        animated=decoded.animated,
        frame_count=decoded.frame_count,
        dihedral=extra,
    )


def hash_file(
    path: str | os.PathLike[str],
    limits: DecodeLimits = DEFAULT_LIMITS,
    dihedral: bool = False,
    *,
    fast: bool = False,
) -> MediaHashes:
    """:func:`hash_media` for a file on disk; oversize files are refused unread.

    ``OSError`` (missing file, permissions) propagates unchanged.
    """
    return hash_media(read_capped(path, limits), limits, dihedral, fast=fast)


def read_capped(
    path: str | os.PathLike[str], limits: DecodeLimits = DEFAULT_LIMITS
) -> bytes:
    """Read a whole file, refusing it unread (via ``fstat``) if over the byte cap.

    At most ``max_bytes + 1`` bytes are read, so a file that grows after the
    size check is still refused rather than read without bound.
    """
    with open(path, "rb") as file:
        limits.check_bytes(os.fstat(file.fileno()).st_size)
        data = file.read(limits.max_bytes + 1)
    limits.check_bytes(len(data))
    return data
