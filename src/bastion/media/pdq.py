"""PDQ perceptual hashes: computation, conversions and distance.

The hash itself is computed by the ``pdqhash`` package (Meta's reference C++
implementation), so values are bit-identical to it on the same pixels; this
module adds input checking and the canonical representations:

* hex: 64 lower-case characters, most significant bit first (ThreatExchange's
  format);
* bytes / ``uint8[32]``: the same 256 bits, big-endian, i.e. ``bytes.fromhex``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pdqhash

from bastion.media.pdq_linear import dihedral_bits, reduced_hashes
from bastion.media.pixels import RGBArray
from bastion.media.signal_types import PDQ, validate_pdq

PDQ_BITS: Final = 256
PDQ_BYTES: Final = PDQ_BITS // 8

PDQ_MATCH_THRESHOLD: Final = 31
"""Hamming distance up to which ThreatExchange treats two PDQ hashes as a match."""

DIHEDRAL_VARIANTS: Final = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flip_x",
    "flip_y",
    "flip_plus1",
    "flip_minus1",
)
"""Order of :attr:`PdqDihedral.hashes`, as produced by ``pdqhash.compute_dihedral``.

``rotateN`` is the hash of the image rotated N degrees counter-clockwise
(``numpy.rot90``); ``flip_x`` mirrors it about the horizontal axis (top-bottom),
``flip_y`` about the vertical axis (left-right); ``flip_plus1`` transposes it
about the main diagonal and ``flip_minus1`` about the anti-diagonal.
"""

DihedralMethod = Literal["buffers", "rehash", "reference"]
DIHEDRAL_METHODS: Final = ("buffers", "rehash", "reference")
"""Ways :func:`pdq_dihedral` derives the variants (see there)."""

_OUT_SIDE: Final = 64
"""Side of PDQ's downsampled buffer; smaller images have repeated samples."""

_DIHEDRAL_TRANSFORMS: Final[tuple[Callable[[RGBArray], RGBArray], ...]] = (
    lambda a: a,
    lambda a: np.rot90(a, 1),
    lambda a: np.rot90(a, 2),
    lambda a: np.rot90(a, 3),
    lambda a: a[::-1],
    lambda a: a[:, ::-1],
    lambda a: a.transpose(1, 0, 2),
    lambda a: np.rot90(a, 2).transpose(1, 0, 2),
)
"""Pixel transforms (zero-copy views) in :data:`DIHEDRAL_VARIANTS` order."""


@dataclass(frozen=True, slots=True)
class PdqHash:
    """A PDQ hash and its quality (0-100; below ~50 the hash is unreliable)."""

    hex: str
    quality: int


@dataclass(frozen=True, slots=True)
class PdqDihedral:
    """The hashes of all eight rotations/mirrorings, in DIHEDRAL_VARIANTS order."""

    hashes: tuple[str, ...]
    quality: int

    def as_dict(self) -> dict[str, str]:
        """Variant name -> hex, for storage that should say which is which."""
        return dict(zip(DIHEDRAL_VARIANTS, self.hashes, strict=True))


def pdq_hash(pixels: RGBArray) -> PdqHash:
    """PDQ of ``(height, width, 3)`` uint8 RGB pixels."""
    bits, quality = pdqhash.compute(_checked(pixels))
    return PdqHash(_bits_to_hex(bits), int(quality))


def pdq_dihedral(
    pixels: RGBArray, *, method: DihedralMethod = "buffers", exact: bool = False
) -> PdqDihedral:
    """PDQ of the pixels under all eight rotations/mirrorings.

    Matching any of these against a hash list catches rotated or mirrored
    copies of known images. The original's hash and quality always come from
    ``pdqhash.compute``, bit-identical to the reference. The other seven:

    * ``"buffers"`` (default): exact, at about 1.1x a plain PDQ. PDQ's
      downsampling is linear, so the 64x64 buffers of the image's mirrors and
      180-degree turn are computed in one pass over the pixels and transposed
      for the rest (:mod:`bastion.media.pdq_linear`). Each variant equals the
      hash of the actually rotated copy up to float rounding (max 2 bits on the
      benchmark corpus; tests bound it). Images under 64 px on a side are
      rehashed instead: there PDQ repeats samples and the hash is float noise.
    * ``"rehash"`` (or ``exact=True``): the eight transformed pixel arrays
      hashed one by one by ``pdqhash``, exact by construction, eight times the
      cost.
    * ``"reference"``: ``pdqhash.compute_dihedral``, what ThreatExchange tools
      store. It flips the original's 64x64 buffer, which PDQ's asymmetric
      filter and sampling make approximate: a rotated copy lands up to ~45
      bits (typically 5-25) from its variant, exact only for the transpose and
      where resampling is symmetric (e.g. under 128 px, or 320 px).
    """
    checked = _checked(pixels)
    if exact:
        method = "rehash"
    if method == "buffers" and min(checked.shape[:2]) < _OUT_SIDE:
        method = "rehash"
    if method == "reference":
        variants, quality = pdqhash.compute_dihedral(checked)
        return PdqDihedral(tuple(_bits_to_hex(bits) for bits in variants), int(quality))
    original = pdq_hash(checked)
    if method == "rehash":
        others = tuple(
            pdq_hash(transform(checked)).hex for transform in _DIHEDRAL_TRANSFORMS[1:]
        )
    elif method == "buffers":
        others = tuple(_bits_to_hex(bits) for bits in dihedral_bits(checked)[1:])
    else:
        raise ValueError(
            f"Unknown dihedral method {method!r}; use one of {', '.join(DIHEDRAL_METHODS)}."
        )
    return PdqDihedral((original.hex, *others), original.quality)


def pdq_reduced(pixels: RGBArray, height: int, width: int) -> PdqDihedral:
    """Approximate PDQ (all eight variants) of a ``height x width`` image decoded at reduced scale.

    For the fast JPEG path: ``pixels`` is what libjpeg gave at 1/2, 1/4 or 1/8 scale, and PDQ's
    filter for the full-size image is applied to it (see :mod:`bastion.media.pdq_linear`), so the
    result stays close to the exact hash (bench/bench_hashing.py states how close).
    """
    checked = _checked(pixels)
    variants, quality = reduced_hashes(checked, height, width)
    return PdqDihedral(tuple(_bits_to_hex(bits) for bits in variants), quality)


def pdq_hex_to_bytes(value: str) -> bytes:
    """The 32 raw bytes of a PDQ hex string (validated)."""
    return bytes.fromhex(validate_pdq(value))


def pdq_bytes_to_hex(raw: bytes | bytearray | memoryview) -> str:
    """Canonical hex of 32 raw PDQ bytes."""
    raw = bytes(raw)
    if len(raw) != PDQ_BYTES:
        raise ValueError(f"A PDQ hash is {PDQ_BYTES} bytes; got {len(raw)}.")
    return raw.hex()


def pdq_hex_to_array(value: str) -> npt.NDArray[np.uint8]:
    """A PDQ hex string as a ``uint8[32]`` array (the matching indexes' form)."""
    return np.frombuffer(pdq_hex_to_bytes(value), dtype=np.uint8).copy()


def pdq_array_to_hex(array: npt.ArrayLike) -> str:
    """Canonical hex of a ``uint8[32]`` array."""
    values = np.asarray(array)
    if values.dtype != np.uint8 or values.shape != (PDQ_BYTES,):
        raise ValueError(
            f"A PDQ array must be uint8 with shape ({PDQ_BYTES},); "
            f"got {values.dtype} {values.shape}."
        )
    return values.tobytes().hex()


def hamming_distance(a: str, b: str) -> int:
    """Number of differing bits between two PDQ hex strings (0-256)."""
    return (int(validate_pdq(a), 16) ^ int(validate_pdq(b), 16)).bit_count()


def _bits_to_hex(bits: npt.NDArray[np.integer]) -> str:
    """pdqhash returns 256 0/1 ints, most significant first; pack them to hex."""
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def _checked(pixels: RGBArray) -> RGBArray:
    """Return pixels in the only layout pdqhash reads correctly.

    pdqhash reinterprets any buffer as 8-bit, and it hands the C++ code a
    pointer to a luma array that keeps the input's memory order, so a
    transposed (Fortran-ordered) view is silently hashed as garbage. Hence
    the dtype/shape check and the C-contiguous copy (free when already so).
    """
    if (
        pixels.dtype != np.uint8
        or pixels.ndim != 3
        or pixels.shape[2] != 3
        or 0 in pixels.shape
    ):
        raise ValueError(
            "PDQ needs a non-empty (height, width, 3) uint8 RGB array; got "
            f"{pixels.dtype} {pixels.shape}. Decode images with "
            "bastion.media.decode_image()."
        )
    return np.ascontiguousarray(pixels)


__all__ = [
    "DIHEDRAL_METHODS",
    "DIHEDRAL_VARIANTS",
    "PDQ",
    "PDQ_BITS",
    "PDQ_BYTES",
    "PDQ_MATCH_THRESHOLD",
    "DihedralMethod",
    "PdqDihedral",
    "PdqHash",
    "hamming_distance",
    "pdq_array_to_hex",
    "pdq_bytes_to_hex",
    "pdq_dihedral",
    "pdq_hash",
    "pdq_hex_to_array",
    "pdq_hex_to_bytes",
    "pdq_reduced",
]
