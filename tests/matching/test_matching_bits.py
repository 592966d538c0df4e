from __future__ import annotations

import numpy as np
import pytest

from bastion.matching import _bits
from bastion.matching.mih import Layout, choose_m, plan_radii

from ._data import random_hashes


def test_popcount_matches_python() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2**64, size=2000, dtype=np.uint64)
    x[:3] = [0, 2**64 - 1, 1 << 63]
    want = [int(v).bit_count() for v in x.tolist()]
    assert _bits.popcount64(x).tolist() == want
    assert _bits._popcount_swar(x).tolist() == want


def test_hamming_helpers_agree_with_bit_unpacking() -> None:
    rng = np.random.default_rng(2)
    a, b = random_hashes(rng, 300), random_hashes(rng, 300)
    want = np.unpackbits(a ^ b, axis=1).sum(axis=1)
    wa, wb = _bits.as_words(a), _bits.as_words(b)
    assert _bits.hamming_pairs(wa, wb).tolist() == want.tolist()
    one = np.unpackbits(a ^ b[0], axis=1).sum(axis=1)
    assert _bits.hamming_to_one(wa, wb[0]).tolist() == one.tolist()


@pytest.mark.parametrize(("width", "radius"), [(16, 0), (16, 1), (16, 3), (21, 2), (5, 5), (5, 9)])
def test_flip_masks_enumerate_the_ball(width: int, radius: int) -> None:
    masks = _bits.flip_masks(width, radius)
    assert masks.size == len(set(masks.tolist())) == min(_bits.ball_size(width, radius), 1 << width)
    assert all(int(m).bit_count() <= radius and 0 <= m < (1 << width) for m in masks.tolist())


@pytest.mark.parametrize("m", [11, 12, 13, 16, 32])
def test_layout_partitions_bits_and_extracts_keys(m: int) -> None:
    layout = Layout(m)
    assert sum(layout.widths) == 256
    rng = np.random.default_rng(m)
    h = random_hashes(rng, 50)
    keys = layout.keys(h)
    for row in range(h.shape[0]):
        bits = np.unpackbits(h[row]).tolist()
        for t in range(m):
            want = int("".join(str(b) for b in bits[t::m]), 2)
            assert keys[row, t] == want


@pytest.mark.parametrize("threshold", [0, 1, 15, 31, 32, 48, 64, 200])
@pytest.mark.parametrize("m", [11, 12, 16])
def test_planned_radii_satisfy_pigeonhole(m: int, threshold: int) -> None:
    widths = Layout(m).widths
    radii = plan_radii(widths, 10_000_000, threshold)
    if radii is not None:
        assert sum(r + 1 for r in radii) >= threshold + 1
        assert all(-1 <= r <= w for r, w in zip(radii, widths))


def test_default_plan_at_31_is_radius_one_on_16_bits() -> None:
    assert plan_radii(Layout(16).widths, 1_000_000, 31) == (1,) * 16


def test_choose_m_keeps_buckets_small() -> None:
    for n in (1, 10_000, 1_000_000, 10_000_000, 100_000_000):
        m = choose_m(n)
        assert 11 <= m <= 16
        assert n / 2 ** max(Layout(m).widths) < 64 or n > 50_000_000
    assert [choose_m(n) for n in (0, 100_000, 1_000_000, 10_000_000, 10**9)] == [16, 15, 13, 11, 11]
