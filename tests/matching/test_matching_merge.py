"""`MIHTables.appended`: merging new rows into the tables gives exactly what a full build gives."""

from __future__ import annotations

import numpy as np
import pytest

from bastion.matching import BruteForcePDQIndex, mih
from bastion.matching._bits import as_words

from ._data import flip, random_hashes


@pytest.mark.parametrize(("n", "k", "m"), [(0, 50, None), (3000, 1, None), (3000, 700, None), (5000, 5000, 16),
                                           (2000, 0, None)])
def test_appended_equals_full_build_and_brute_force(n: int, k: int, m: int | None) -> None:
    rng = np.random.default_rng(n + k)
    old = random_hashes(rng, n)
    # New rows: random, plus near-duplicates at distances 30-33 of old rows (the threshold's edge).
    new = random_hashes(rng, k)
    for i in range(min(k, n, 40)):
        new[i] = flip(rng, old[i], 30 + i % 4)
    old_ids = np.sort(rng.choice(10 * max(n, 1), size=n, replace=False)).astype(np.int64)
    new_ids = (10 * max(n, 1) + rng.permutation(k) * 3 + 1).astype(np.int64)  # above, in shuffled order
    base = mih.MIHTables.build(old_ids, old, m=m)
    merged = base.appended(new_ids, new)
    full = mih.MIHTables.build(np.concatenate([old_ids, new_ids]), np.concatenate([old, new]), m=base.layout.m)
    assert merged is not None and merged.layout.widths == full.layout.widths
    for name in ("ids", "words", "offsets", "postings"):
        assert np.array_equal(getattr(merged, name), getattr(full, name)), name
    ids = np.concatenate([old_ids, new_ids])
    brute = BruteForcePDQIndex.build(ids, np.concatenate([old, new]))
    queries = np.concatenate([old[:20], new[:40], random_hashes(rng, 5)]) if n + k else random_hashes(rng, 3)
    for q in queries:
        rows, dist = merged.search(q, as_words(q.reshape(1, -1))[0], 31)
        got = sorted(zip(merged.ids[rows].tolist(), dist.tolist()))
        want = sorted((mt.entry_id, mt.distance) for mt in brute.query(q, 31))
        assert got == want


def test_appended_refuses_ids_not_above_the_current_ones() -> None:
    rng = np.random.default_rng(3)
    base = mih.MIHTables.build(np.arange(100, dtype=np.int64), random_hashes(rng, 100))
    assert base.appended(np.array([99, 500], dtype=np.int64), random_hashes(rng, 2)) is None
    assert base.appended(np.array([500, 500], dtype=np.int64), random_hashes(rng, 2)) is None


def test_compact_merges_pure_additions_and_rebuilds_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    """compact() takes the merge for appended ids (no build call) and still rebuilds after a removal;
    either way the index answers as brute force does."""
    from bastion.matching import MIHPDQIndex

    rng = np.random.default_rng(11)
    old = random_hashes(rng, 4000)
    index = MIHPDQIndex.build(np.arange(4000, dtype=np.int64), old, m=16)
    new = np.stack([flip(rng, old[i], 29 + i % 5) for i in range(300)])
    index.add(np.arange(5000, 5300, dtype=np.int64), new)
    builds: list[int] = []
    real_build = mih.MIHTables.build.__func__  # type: ignore[attr-defined]
    monkeypatch.setattr(mih.MIHTables, "build", classmethod(lambda cls, *a, **k: builds.append(1) or real_build(cls, *a, **k)))
    assert index.compact() and builds == []
    all_ids = np.concatenate([np.arange(4000), np.arange(5000, 5300)]).astype(np.int64)
    brute = BruteForcePDQIndex.build(all_ids, np.concatenate([old, new]))
    for q in np.concatenate([old[:50], new[:50]]):
        assert sorted(index.query(q, 31)) == sorted(brute.query(q, 31))
    index.remove([5000])
    index.add(np.arange(6000, 6010, dtype=np.int64), random_hashes(rng, 10))
    assert index.compact() and builds == [1]
