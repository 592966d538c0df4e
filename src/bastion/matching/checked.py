"""Brute-force check mode: run a fast index and the reference side by side.

``CheckedPDQIndex(fast, reference)`` applies every update to both and compares
every query result, raising :class:`IndexMismatchError` on any difference in
ids or distances. Used by the tests; also handy in staging to shadow a new
index implementation against the reference on real traffic.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ._input import HashLike, IngestReport
from .index import DEFAULT_THRESHOLD, BruteForcePDQIndex, Match, PDQIndex
from .live import MIHPDQIndex


class IndexMismatchError(AssertionError):
    """The fast index disagreed with the reference."""


def _diff(fast: list[Match], ref: list[Match]) -> str:
    fs, rs = set(fast), set(ref)
    missing = sorted(rs - fs, key=lambda m: (m.distance, m.entry_id))
    extra = sorted(fs - rs, key=lambda m: (m.distance, m.entry_id))
    return f"missing {missing[:10]} ({len(missing)}), extra {extra[:10]} ({len(extra)})"


class CheckedPDQIndex:
    """A :class:`PDQIndex` that cross-checks ``fast`` against ``reference``."""

    def __init__(self, fast: PDQIndex, reference: PDQIndex) -> None:
        self.fast = fast
        self.reference = reference
        self.build_report = getattr(fast, "build_report", IngestReport(0))

    @classmethod
    def build(
        cls, ids: Iterable[int] | np.ndarray, hashes: np.ndarray | Sequence[HashLike]
    ) -> CheckedPDQIndex:
        ids = np.asarray(ids) if not isinstance(ids, np.ndarray) else ids
        hashes = hashes if isinstance(hashes, np.ndarray) else list(hashes)
        return cls(MIHPDQIndex.build(ids, hashes), BruteForcePDQIndex.build(ids, hashes))

    def add(
        self, ids: Iterable[int] | np.ndarray, hashes: np.ndarray | Sequence[HashLike]
    ) -> IngestReport:
        ids = np.asarray(ids) if not isinstance(ids, np.ndarray) else ids
        hashes = hashes if isinstance(hashes, np.ndarray) else list(hashes)
        report = self.fast.add(ids, hashes)
        ref_report = self.reference.add(ids, hashes)
        if report != ref_report:
            raise IndexMismatchError(f"ingest reports differ: {report} vs {ref_report}")
        return report

    def remove(self, ids: Iterable[int] | np.ndarray) -> int:
        ids = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
        removed, ref_removed = self.fast.remove(ids), self.reference.remove(ids)
        if removed != ref_removed:
            raise IndexMismatchError(f"remove counts differ: {removed} vs {ref_removed}")
        return removed

    def compact(self) -> None:
        compact = getattr(self.fast, "compact", None)
        if compact is not None:
            compact()
        self._check_len()

    def query(self, hash: HashLike, threshold: int = DEFAULT_THRESHOLD) -> list[Match]:
        got, want = self.fast.query(hash, threshold), self.reference.query(hash, threshold)
        if got != want:
            raise IndexMismatchError(f"query at threshold {threshold}: {_diff(got, want)}")
        return got

    def query_batch(
        self, hashes: np.ndarray | Sequence[HashLike], threshold: int = DEFAULT_THRESHOLD
    ) -> list[list[Match]]:
        got = self.fast.query_batch(hashes, threshold)
        want = self.reference.query_batch(hashes, threshold)
        if len(got) != len(want):
            raise IndexMismatchError(f"batch of {len(want)} gave {len(got)} results")
        for k, (g, w) in enumerate(zip(got, want)):
            if g != w:
                raise IndexMismatchError(f"batch query {k} at threshold {threshold}: {_diff(g, w)}")
        return got

    def _check_len(self) -> None:
        if len(self.fast) != len(self.reference):
            raise IndexMismatchError(f"sizes differ: {len(self.fast)} vs {len(self.reference)}")

    def __len__(self) -> int:
        self._check_len()
        return len(self.fast)
