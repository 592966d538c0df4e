"""Bit-level helpers shared by every index: popcount, Hamming distance, masks.

Hashes are handled in two shapes:

* ``uint8 (n, 32)`` — the canonical byte form (PDQ's 64-hex-char string, decoded).
* ``uint64 (n, 4)`` — the same bytes viewed as four little-endian words. Hamming
  distance only needs XOR and popcount, both indifferent to word byte order, so
  the view is free and portable (the dtype is pinned to ``<u8``).
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

HASH_BYTES = 32
HASH_BITS = 256
WORDS = 4
WORD_DTYPE = np.dtype("<u8")

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


def _popcount_swar(x: np.ndarray) -> np.ndarray:
    """Classic SWAR popcount for numpy < 2.0 (no ``np.bitwise_count``)."""
    x = x - ((x >> np.uint64(1)) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return ((x * _H01) >> np.uint64(56)).astype(np.uint8)


popcount64 = getattr(np, "bitwise_count", _popcount_swar)
"""Per-element popcount of a uint64 array (result dtype uint8)."""


def as_words(hashes_u8: np.ndarray) -> np.ndarray:
    """View ``uint8 (n, 32)`` as ``uint64 (n, 4)`` (copies only if not contiguous)."""
    return np.ascontiguousarray(hashes_u8, dtype=np.uint8).view(WORD_DTYPE)


def hamming_to_one(words: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Distances from every row of ``words (n, 4)`` to one ``query (4,)`` → int64 (n,).

    Written column by column: numpy broadcasting over a trailing axis of 4 and
    ``sum(axis=1)`` over it are each 3-5x slower than four strided column ops
    (measured: 10k rows, 41 µs vs 79 µs+).
    """
    n = words.shape[0]
    flat = words.reshape(-1) ^ np.tile(query, n)
    c = popcount64(flat).reshape(n, WORDS)
    out = c[:, 0].astype(np.int64)
    out += c[:, 1]
    out += c[:, 2]
    out += c[:, 3]
    return out


def hamming_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise distances between ``a (n, 4)`` and ``b (n, 4)`` → int64 (n,)."""
    c = popcount64(a ^ b)
    out = c[:, 0].astype(np.int64)
    out += c[:, 1]
    out += c[:, 2]
    out += c[:, 3]
    return out


def ball_size(width: int, radius: int) -> int:
    """Number of ``width``-bit values within Hamming ``radius`` of a point."""
    if radius < 0:
        return 0
    return sum(math.comb(width, k) for k in range(min(radius, width) + 1))


@functools.lru_cache(maxsize=128)
def flip_masks(width: int, radius: int) -> np.ndarray:
    """All ``width``-bit XOR masks of popcount <= ``radius``, ascending popcount.

    XOR-ing a substring key with each mask enumerates its Hamming ball, which is
    how multi-index hashing probes a table. Cached: a handful of (width, radius)
    pairs are ever used, and the largest sensible ball (24 bits, r=3) is 2.3k.
    """
    if radius < 0:
        return np.zeros(0, dtype=np.int64)
    if radius >= width:
        return np.arange(1 << width, dtype=np.int64)
    out = [0]
    for k in range(1, radius + 1):
        for combo in itertools.combinations(range(width), k):
            v = 0
            for bit in combo:
                v |= 1 << bit
            out.append(v)
    masks = np.asarray(out, dtype=np.int64)
    masks.setflags(write=False)
    return masks
