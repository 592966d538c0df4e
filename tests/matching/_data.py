"""Test data: random PDQ-shaped hashes, planted near-duplicates, skewed clusters."""

from __future__ import annotations

import numpy as np


def random_hashes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 256, size=(n, 32), dtype=np.uint8)


def flip(rng: np.random.Generator, h: np.ndarray, k: int) -> np.ndarray:
    """A copy of ``h`` (32 bytes) with exactly ``k`` distinct bits flipped."""
    bits = np.unpackbits(h)
    bits[rng.choice(256, size=k, replace=False)] ^= 1
    return np.packbits(bits)


def distance(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.unpackbits(a ^ b).sum())


def clustered(rng: np.random.Generator, n: int, *, centers: int = 200, radius: int = 6) -> np.ndarray:
    """``n`` hashes in Zipf-sized clusters (members within ``radius`` bits of a centre).

    A quarter of the rows are one degenerate hash repeated (think blank images),
    which puts thousands of rows into the same bucket of every table.
    """
    c = random_hashes(rng, centers)
    sizes = 1.0 / np.arange(1, centers + 1)
    which = rng.choice(centers, size=n - n // 4, p=sizes / sizes.sum())
    out = np.empty((n, 32), dtype=np.uint8)
    for i, k in enumerate(which):
        out[i] = flip(rng, c[k], int(rng.integers(0, radius + 1)))
    out[n - n // 4 :] = c[0]
    return out[rng.permutation(n)]
