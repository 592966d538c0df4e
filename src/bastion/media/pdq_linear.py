"""PDQ's front end written as linear operators, for exact dihedral variants and reduced-scale decoding.

Why this exists: PDQ (Meta's reference, ``pdqhash``) turns luminance into a 64x64 buffer with two
passes of a box filter along each axis (the "Jarosz tent") and then picks one pixel per output cell
(decimation). Both steps are linear and separable, so the 64x64 buffer of an ``rows x cols`` image
``X`` is ``A_rows @ X @ A_cols.T`` for two fixed ``64 x n`` matrices that depend only on the image's
size. The box window is ``ceil(n / 128)`` wide; when it is even, the reference filter reaches one pixel
further right than left, and the decimation picks ``floor((i + 0.5) * n / 64)``, so ``A`` is not
mirror-symmetric. That is why ``pdqhash.compute_dihedral`` (which flips the 64x64 buffer) misses the
hash of an actually rotated copy by up to ~45 bits.

Mirroring the image is ``X -> J X`` (``J`` reverses an axis), and ``A (J X) = (A J) X``. So four buffers

* ``A X A'``, ``(AJ) X A'``, ``A X (A'J)'``, ``(AJ) X (A'J)'``

(``A`` for rows, ``A'`` for columns) are exactly the 64x64 buffers of the image, its top-bottom mirror,
its left-right mirror and its 180-degree rotation, and their transposes are the buffers of the other
four dihedral variants (transposing the image transposes the buffer). :func:`dihedral_bits` computes
them in one read of the pixels: the 128 row operators (``A`` and ``A J``) are applied to the RGB rows
in blocks, luminance is taken on the 128-row result, then the 128 column operators, then PDQ's
16x16 DCT and median threshold. The variants equal ``pdqhash.compute`` of each rotated copy up to
float rounding (tested; on the photo corpus of ``bench/bench_rotation.py`` 100.0% of variants identical, max 2 bits).

The same operators give the fast JPEG path its accuracy: a JPEG decoded at ``1/k`` scale holds
(approximately) the means of ``k x k`` pixel blocks, and summing each row of ``A`` over the pixels of
a block gives the operator to apply to those means (:func:`reduced_hashes`), so the reduced image is
filtered with the full-resolution image's own kernel rather than the smaller image's.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from bastion.media.pixels import RGBArray

_OUT: Final = 64
"""Side of PDQ's downsampled buffer."""
_LUMA: Final = np.array([0.299, 0.587, 0.114])
"""pdqhash's luminance weights (applied after the row pass: both are linear)."""
_DCT: Final = np.array(
    [[np.sqrt(2 / 64) * np.cos(np.pi / 128 * (i + 1) * (2 * j + 1)) for j in range(64)] for i in range(16)]
)
"""PDQ's 16x64 DCT matrix (the reference ``dct64To16``: frequencies 1-16, skipping DC)."""
_CACHED_SIDE: Final = 8192
"""Operators for sides up to this are cached (about 16 bytes per pixel of side, so <= 8 MiB in all)."""
_MIN_HASHABLE: Final = 5
"""The reference gives images narrower than this an all-zero hash of quality 0."""
_MIN_BLOCK: Final = 32
"""Rows converted to float at a time in the full-resolution pass (keeps the block in cache)."""

_PRODUCT_SIZE: Final = 1 << 19
"""Largest matrix product (multiply-adds) issued at once; see :meth:`_Banded.apply`."""

Bits = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class _Banded:
    """A banded operator, kept as the input's row blocks with the operator rows that touch each.

    Rows are stored sorted by where they start, so the rows touching a block are a contiguous range
    and their weights one small dense matrix; ``order`` puts the result back in the caller's order.
    """

    order: npt.NDArray[np.intp]
    blocks: tuple[tuple[int, int, int, int, npt.NDArray[np.float32]], ...]

    def apply(self, data: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
        """``operator @ data`` for ``data`` of shape ``(n, k)`` (any real dtype)."""
        width = data.shape[1]
        out = np.zeros((len(self.order), width), dtype=np.float32)
        for start, stop, first, last, weights in self.blocks:
            # Column chunks keep each product small: OpenBLAS runs small products on the calling
            # thread, but spawns threads for big ones, which costs 50x on a busy two-core machine.
            chunk = max(256, _PRODUCT_SIZE // weights.size)
            for left in range(0, width, chunk):
                right = min(width, left + chunk)
                block = data[start:stop, left:right].astype(np.float32)
                out[first:last, left:right] += weights @ block
        return out[self.order]


def _box_bounds(n: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """First and last input index that PDQ's box filter averages for each output index.

    The reference's window is ``ceil(n / 128)``; it reaches ``floor(w / 2)`` pixels right and the
    rest left, clipped at the edges (and divides by the clipped count).
    """
    window = (n + 2 * _OUT - 1) // (2 * _OUT)
    right = (window + 2) // 2 - 1
    left = window - 1 - right
    index = np.arange(n)
    return np.maximum(0, index - left), np.minimum(n - 1, index + right)


def _tent_rows(n: int) -> tuple[tuple[int, npt.NDArray[np.float64]], ...]:
    """The 64 rows of ``A`` (decimate o box o box) for a side of ``n`` pixels, as (start, weights)."""
    low, high = _box_bounds(n)
    counts = high - low + 1
    rows = []
    for i in range(_OUT):
        sample = int(((i + 0.5) * n) / _OUT)
        start, stop = int(low[low[sample]]), int(high[high[sample]])
        # row `sample` of B is 1/count over its box; times B adds each inner box with 1/count.
        spread = np.zeros(stop - start + 2)
        inner = np.arange(low[sample], high[sample] + 1)
        np.add.at(spread, low[inner] - start, 1.0 / counts[inner])
        np.add.at(spread, high[inner] - start + 1, -1.0 / counts[inner])
        weights = np.cumsum(spread)[:-1] / counts[sample]
        rows.append((start, weights))
    return tuple(rows)


def _operator(n: int, block: int = 1) -> _Banded:
    """:func:`_build_operator`, cached for the sides photos have (an upload cannot fill memory with them)."""
    return _cached_operator(n, block) if n <= _CACHED_SIDE else _build_operator(n, block)


@functools.lru_cache(maxsize=64)
def _cached_operator(n: int, block: int) -> _Banded:
    return _build_operator(n, block)


def _build_operator(n: int, block: int) -> _Banded:
    """``A`` with ``A J`` below it (128 rows) for a full-resolution side of ``n`` pixels.

    With ``block = k > 1`` the operator is for an input decoded at ``1/k`` scale (``ceil(n / k)``
    samples, each the mean of ``k`` full-resolution pixels): each weight is summed over its block.
    """
    rows = list(_tent_rows(n))
    rows += [(n - start - len(weights), weights[::-1]) for start, weights in rows]
    if block > 1:
        rows = [_sum_blocks(start, weights, block) for start, weights in rows]
    by_start = np.argsort([start for start, _ in rows], kind="stable")
    rows = [rows[i] for i in by_start]
    starts = np.array([start for start, _ in rows])
    stops = np.array([start + len(weights) for start, weights in rows])
    size = -(-n // block)
    step = max(_MIN_BLOCK, -(-size // _OUT))
    blocks = []
    for begin in range(0, size, step):
        end = min(size, begin + step)
        touching = np.flatnonzero((starts < end) & (stops > begin))
        first, last = int(touching[0]), int(touching[-1]) + 1
        dense = np.zeros((last - first, end - begin), dtype=np.float32)
        for slot in range(first, last):
            start, weights = rows[slot]
            lo, hi = max(begin, start), min(end, start + len(weights))
            if hi > lo:
                dense[slot - first, lo - begin : hi - begin] = weights[lo - start : hi - start]
        blocks.append((begin, end, first, last, dense))
    return _Banded(np.argsort(by_start), tuple(blocks))


def _sum_blocks(start: int, weights: npt.NDArray[np.float64], block: int) -> tuple[int, npt.NDArray[np.float64]]:
    """Re-express a full-resolution row over ``block``-pixel means: sum the weights per block."""
    first = start // block
    padded = np.zeros((-(-(start + len(weights)) // block) - first) * block)
    padded[start - first * block : start - first * block + len(weights)] = weights
    return first, padded.reshape(-1, block).sum(axis=1)


def _buffers(pixels: RGBArray, height: int, width: int, block_rows: int, block_cols: int) -> npt.NDArray[np.float64]:
    """The four 64x64 buffers as one 128x128 array: [[A X A', A X (A'J)'], [(AJ) X A', (AJ) X (A'J)']]."""
    rows, cols = pixels.shape[:2]
    by_rows = _operator(height, block_rows).apply(pixels.reshape(rows, cols * 3))
    luma = by_rows[:, 0::3] * _LUMA[0] + by_rows[:, 1::3] * _LUMA[1] + by_rows[:, 2::3] * _LUMA[2]
    return _operator(width, block_cols).apply(np.ascontiguousarray(luma.T)).T.astype(np.float64)


def dihedral_bits(pixels: RGBArray) -> tuple[Bits, ...]:
    """PDQ bits of the eight rotations/mirrorings, in ``DIHEDRAL_VARIANTS`` order.

    Each equals ``pdqhash.compute`` of the correspondingly transformed pixels up to float rounding.
    """
    height, width = pixels.shape[:2]
    return _variants(_buffers(pixels, height, width, 1, 1))


def reduced_hashes(pixels: RGBArray, height: int, width: int) -> tuple[tuple[Bits, ...], int]:
    """The eight variants' bits, and PDQ's quality, of a ``height x width`` image decoded at reduced scale.

    ``pixels`` must be ``ceil(height / k) x ceil(width / k)`` for one of JPEG's scale factors
    ``k`` (1, 2, 4, 8). PDQ's full-resolution kernel is applied to them, summed per block.
    """
    rows, cols = pixels.shape[:2]
    block_rows, block_cols = _scale(height, rows), _scale(width, cols)
    if min(height, width) < _MIN_HASHABLE:
        return (np.zeros(256, dtype=np.uint8),) * 8, 0
    buffers = _buffers(pixels, height, width, block_rows, block_cols)
    return _variants(buffers), _quality(buffers[:_OUT, :_OUT])


def _quality(buffer: npt.NDArray[np.float64]) -> int:
    """PDQ's quality metric of the original's 64x64 buffer, as the reference computes it.

    Sum of the absolute neighbour differences in percent of full scale (each truncated to an
    integer), divided by 90, capped at 100.
    """
    down = np.trunc((buffer[:-1, :] - buffer[1:, :]) * 100 / 255)
    across = np.trunc((buffer[:, :-1] - buffer[:, 1:]) * 100 / 255)
    return min(100, int(np.abs(down).sum() + np.abs(across).sum()) // 90)


def _scale(full: int, reduced: int) -> int:
    """The integer reduction factor ``k`` with ``ceil(full / k) == reduced``."""
    for factor in (1, 2, 4, 8):
        if -(-full // factor) == reduced:
            return factor
    raise ValueError(f"{reduced} px is not a 1/1, 1/2, 1/4 or 1/8 reduction of {full} px.")


def _variants(buffers: npt.NDArray[np.float64]) -> tuple[Bits, ...]:
    """PDQ's DCT and median threshold of the four buffers and their transposes, in variant order.

    original = A X A'; rotate90 = (X J)'; rotate180 = J X J; rotate270 = (J X)'; flip_x = J X;
    flip_y = X J; flip_plus1 = X'; flip_minus1 = (J X J)'. The DCT of a transposed buffer is the
    transposed DCT, with the same median, so four DCTs serve all eight.
    """
    quads = buffers.reshape(2, _OUT, 2, _OUT).transpose(0, 2, 1, 3)  # [row op][col op] 64x64
    coefficients = _DCT @ quads @ _DCT.T  # (2, 2, 16, 16)
    flat = coefficients.reshape(2, 2, 256)
    # the reference's Torben median is the lower one (the 128th smallest of 256)
    medians = np.partition(flat, 127, axis=-1)[..., 127:128, None]
    above = coefficients > medians
    plain, flip_y, flip_x, turned = above[0, 0], above[0, 1], above[1, 0], above[1, 1]
    return tuple(
        # pdqhash lists bit 255 (coefficient [15, 15]) first
        np.ascontiguousarray(b).ravel()[::-1].astype(np.uint8)
        for b in (plain, flip_y.T, turned, flip_x.T, flip_x, flip_y, plain.T, turned.T)
    )


__all__ = ["dihedral_bits", "reduced_hashes"]
