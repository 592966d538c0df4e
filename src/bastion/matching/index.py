"""The PDQ index capability interface and its brute-force reference.

Every fast index in this package is checked against :class:`BruteForcePDQIndex`,
which is deliberately the simplest thing that is obviously right: XOR each
stored hash with the query and count bits, in chunks, keep rows within the
threshold. Exact by construction, O(N) per query.

Semantics shared by all implementations (the tests hold them to it):

* An entry is one stored ``(entry_id, hash)`` row. Ids need not be unique
  (e.g. several frames of one video); ``remove(ids)`` removes every row carrying
  any of the ids; a query reports every matching row.
* ``query`` returns every stored hash within Hamming distance ``<= threshold``
  (0..256) as :class:`Match` rows sorted by ``(distance, entry_id)``.
* ``build``/``add`` skip malformed hashes and return an :class:`IngestReport`
  (``build`` attaches it as ``index.build_report``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol, TypeVar, runtime_checkable

import numpy as np

from ._bits import HASH_BITS, WORDS, as_words, hamming_to_one
from ._input import HashLike, IngestReport, coerce_batch, coerce_ids, coerce_queries, coerce_query

DEFAULT_THRESHOLD = 31
"""PDQ's "confident match" distance (same default as python-threatexchange)."""

_T = TypeVar("_T", bound="PDQIndex")


class Match(NamedTuple):
    entry_id: int
    distance: int


@runtime_checkable
class PDQIndex(Protocol):
    """What the rest of Bastion may rely on from a PDQ index."""

    @classmethod
    def build(
        cls: type[_T], ids: Iterable[int] | np.ndarray, hashes: np.ndarray | Sequence[HashLike]
    ) -> _T:
        """A new index holding ``hashes`` (``uint8 (N, 32)`` or hex/bytes rows) under ``ids``."""
        ...

    def add(
        self, ids: Iterable[int] | np.ndarray, hashes: np.ndarray | Sequence[HashLike]
    ) -> IngestReport:
        """Insert rows; visible to queries when this returns. Bad rows are reported."""
        ...

    def remove(self, ids: Iterable[int] | np.ndarray) -> int:
        """Remove every row with one of ``ids``; return how many rows went."""
        ...

    def query(self, hash: HashLike, threshold: int = DEFAULT_THRESHOLD) -> list[Match]:
        """Every stored row within ``threshold`` bits of ``hash``."""
        ...

    def query_batch(
        self, hashes: np.ndarray | Sequence[HashLike], threshold: int = DEFAULT_THRESHOLD
    ) -> list[list[Match]]:
        """``[self.query(h, threshold) for h in hashes]``, computed in bulk."""
        ...

    def __len__(self) -> int: ...


def check_threshold(threshold: int) -> int:
    t = int(threshold)
    if t != threshold or not 0 <= t <= HASH_BITS:
        raise ValueError(f"threshold must be an integer in 0..{HASH_BITS}, got {threshold!r}")
    return t


def to_matches(ids: np.ndarray, dists: np.ndarray) -> list[Match]:
    """Match rows sorted by (distance, entry_id)."""
    if ids.size == 0:
        return []
    order = np.lexsort((ids, dists))
    return [Match(i, d) for i, d in zip(ids[order].tolist(), dists[order].tolist())]


def split_matches(qidx: np.ndarray, ids: np.ndarray, dists: np.ndarray, q: int) -> list[list[Match]]:
    """Group flat (query, id, distance) hits into one sorted list per query."""
    out: list[list[Match]] = [[] for _ in range(q)]
    if qidx.size == 0:
        return out
    order = np.lexsort((ids, dists, qidx))
    qs, ids_l, ds = qidx[order], ids[order].tolist(), dists[order].tolist()
    bounds = np.searchsorted(qs, np.arange(q + 1)).tolist()
    for k in range(q):
        lo, hi = bounds[k], bounds[k + 1]
        if lo != hi:
            out[k] = [Match(i, d) for i, d in zip(ids_l[lo:hi], ds[lo:hi])]
    return out


class BruteForcePDQIndex:
    """Reference index: a linear scan over packed uint64 words. Exact, O(N)/query."""

    CHUNK_ROWS = 1 << 18

    def __init__(self) -> None:
        self._ids = np.zeros(0, dtype=np.int64)
        self._words = np.zeros((0, WORDS), dtype=np.uint64)
        self.build_report = IngestReport(0)

    @classmethod
    def build(
        cls, ids: Iterable[int] | np.ndarray, hashes: np.ndarray | Sequence[HashLike]
    ) -> BruteForcePDQIndex:
        index = cls()
        index.build_report = index.add(ids, hashes)
        return index

    def add(
        self, ids: Iterable[int] | np.ndarray, hashes: np.ndarray | Sequence[HashLike]
    ) -> IngestReport:
        good_ids, good, report = coerce_batch(ids, hashes)
        self._ids = np.concatenate([self._ids, good_ids])
        self._words = np.concatenate([self._words, as_words(good)])
        return report

    def remove(self, ids: Iterable[int] | np.ndarray) -> int:
        gone = np.isin(self._ids, coerce_ids(ids))
        self._ids, self._words = self._ids[~gone], self._words[~gone]
        return int(gone.sum())

    def __len__(self) -> int:
        return int(self._ids.shape[0])

    def query(self, hash: HashLike, threshold: int = DEFAULT_THRESHOLD) -> list[Match]:
        t = check_threshold(threshold)
        return self._scan(as_words(coerce_query(hash)[None, :])[0], t)

    def query_batch(
        self, hashes: np.ndarray | Sequence[HashLike], threshold: int = DEFAULT_THRESHOLD
    ) -> list[list[Match]]:
        t = check_threshold(threshold)
        return [self._scan(q, t) for q in as_words(coerce_queries(hashes))]

    def _scan(self, q: np.ndarray, t: int) -> list[Match]:
        hit_ids, hit_d = [], []
        for lo in range(0, len(self), self.CHUNK_ROWS):
            d = hamming_to_one(self._words[lo : lo + self.CHUNK_ROWS], q)
            keep = np.flatnonzero(d <= t)
            hit_ids.append(self._ids[lo + keep])
            hit_d.append(d[keep])
        if not hit_ids:
            return []
        return to_matches(np.concatenate(hit_ids), np.concatenate(hit_d))
