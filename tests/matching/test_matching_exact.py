"""The fast index returns exactly what brute force returns: same ids, same distances."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from bastion.matching import BruteForcePDQIndex, CheckedPDQIndex, Match, MIHPDQIndex, PDQIndex, mih

from ._data import clustered, distance, flip, random_hashes

THRESHOLDS = [0, 1, 15, 31, 32, 48, 64]


@pytest.fixture(params=["auto", "mih-only", "scan-only"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Exercise the planner's choice, forced MIH probing at any radius, and the scan path."""
    if request.param == "mih-only":
        monkeypatch.setattr(mih, "C_SCAN_NS", 1e12)
    elif request.param == "scan-only":
        monkeypatch.setattr(mih, "C_SCAN_NS", 0.0)
    yield request.param


def _planted(rng: np.random.Generator, stored: np.ndarray, distances: range) -> np.ndarray:
    rows = rng.integers(0, stored.shape[0], size=len(distances))
    return np.stack([flip(rng, stored[r], k) for r, k in zip(rows, distances)])


def test_every_distance_around_the_threshold(mode: str) -> None:
    rng = np.random.default_rng(10)
    stored = random_hashes(rng, 20_000)
    ids = np.arange(stored.shape[0], dtype=np.int64) * 7 + 3
    index = CheckedPDQIndex(MIHPDQIndex.build(ids, stored), BruteForcePDQIndex.build(ids, stored))
    for k in range(0, 34):  # 0..31, then 32 and 33 just outside
        row = int(rng.integers(0, stored.shape[0]))
        q = flip(rng, stored[row], k)
        got = index.query(q, 31)
        assert (Match(int(ids[row]), k) in got) == (k <= 31)
        assert all(m.distance <= 31 for m in got)


@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_random_data_all_thresholds(mode: str, threshold: int) -> None:
    rng = np.random.default_rng(threshold)
    stored = random_hashes(rng, 30_000)
    ids = rng.permutation(stored.shape[0]).astype(np.int64)
    index = CheckedPDQIndex(MIHPDQIndex.build(ids, stored), BruteForcePDQIndex.build(ids, stored))
    queries = np.concatenate(
        [_planted(rng, stored, range(0, threshold + 3)), random_hashes(rng, 5)]
    )
    for q in queries[:12]:
        index.query(q, threshold)
    results = index.query_batch(queries, threshold)
    planted_hits = sum(1 for r in results[: threshold + 1] if r)
    assert planted_hits == threshold + 1  # every planted duplicate within range found


@pytest.mark.parametrize("threshold", [0, 15, 31, 48])
def test_clustered_skewed_buckets(mode: str, threshold: int) -> None:
    rng = np.random.default_rng(100 + threshold)
    stored = clustered(rng, 20_000)
    ids = np.arange(stored.shape[0], dtype=np.int64)
    index = CheckedPDQIndex(MIHPDQIndex.build(ids, stored), BruteForcePDQIndex.build(ids, stored))
    queries = np.concatenate([_planted(rng, stored, range(0, 40, 3)), random_hashes(rng, 3)])
    for q in queries[:6]:
        index.query(q, threshold)
    results = index.query_batch(queries, threshold)
    assert max(len(r) for r in results) > 1000  # the degenerate cluster really was hit


@pytest.mark.parametrize("m", [12, 13])
def test_wider_substrings(m: int) -> None:
    rng = np.random.default_rng(m)
    stored = random_hashes(rng, 20_000)
    ids = np.arange(stored.shape[0], dtype=np.int64)
    index = CheckedPDQIndex(MIHPDQIndex.build(ids, stored, m=m), BruteForcePDQIndex.build(ids, stored))
    queries = _planted(rng, stored, range(0, 34))
    for t in (0, 31, 32):
        index.query_batch(queries, t)
    index.query(queries[5], 31)


def test_duplicate_ids_and_duplicate_hashes_all_reported() -> None:
    rng = np.random.default_rng(5)
    h = random_hashes(rng, 3)
    stored = np.stack([h[0], h[0], h[1], flip(rng, h[0], 4)])
    ids = np.array([7, 8, 7, 9])
    index = CheckedPDQIndex.build(ids, stored)
    assert index.query(h[0]) == [Match(7, 0), Match(8, 0), Match(9, 4)]
    assert index.remove([7]) == 2
    assert index.query(h[0]) == [Match(8, 0), Match(9, 4)]


def test_results_sorted_and_distances_true() -> None:
    rng = np.random.default_rng(6)
    stored = clustered(rng, 5_000)
    index = MIHPDQIndex.build(np.arange(5_000), stored)
    got = index.query(stored[0], 40)
    assert got == sorted(got, key=lambda m: (m.distance, m.entry_id))
    assert all(distance(stored[m.entry_id], stored[0]) == m.distance for m in got)


def test_thresholds_validated() -> None:
    index = MIHPDQIndex.build([1], np.zeros((1, 32), np.uint8))
    for bad in (-1, 257, 3.5):
        with pytest.raises(ValueError):
            index.query(np.zeros(32, np.uint8), bad)  # type: ignore[arg-type]
    assert index.query(np.zeros(32, np.uint8), 256) == [Match(1, 0)]


def test_empty_index() -> None:
    for index in (MIHPDQIndex(), BruteForcePDQIndex(), MIHPDQIndex.build([], np.zeros((0, 32), np.uint8))):
        assert len(index) == 0
        assert index.query(np.zeros(32, np.uint8), 64) == []
        assert index.query_batch(np.zeros((3, 32), np.uint8), 31) == [[], [], []]
        assert index.query_batch(np.zeros((0, 32), np.uint8), 31) == []


def test_implementations_satisfy_the_protocol() -> None:
    for cls in (BruteForcePDQIndex, MIHPDQIndex, CheckedPDQIndex):
        assert isinstance(cls.build([1], np.zeros((1, 32), np.uint8)), PDQIndex)
