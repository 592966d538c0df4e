"""Exact PDQ matching: every stored hash within a Hamming threshold, fast.

Takes numpy arrays (or hex/bytes rows), never database rows. Pieces:

* :class:`PDQIndex` — the capability interface; :class:`Match` rows.
* :class:`BruteForcePDQIndex` — the obviously-correct reference.
* :class:`MIHPDQIndex` — multi-index hashing + delta/tombstones + ``compact()``.
* :class:`CheckedPDQIndex` — runs a fast index against the reference.
* :func:`save` / :func:`load` / :class:`SnapshotWatcher` — mmap snapshots.
"""

from ._input import IngestReport, RejectedRow
from .checked import CheckedPDQIndex, IndexMismatchError
from .index import DEFAULT_THRESHOLD, BruteForcePDQIndex, Match, PDQIndex
from .live import MIHPDQIndex
from .snapshot import (
    SnapshotCorruptError,
    SnapshotError,
    SnapshotInfo,
    SnapshotVersionError,
    SnapshotWatcher,
    load,
    read_info,
    save,
)

__all__ = [
    "DEFAULT_THRESHOLD",
    "BruteForcePDQIndex",
    "CheckedPDQIndex",
    "IndexMismatchError",
    "IngestReport",
    "MIHPDQIndex",
    "Match",
    "PDQIndex",
    "RejectedRow",
    "SnapshotCorruptError",
    "SnapshotError",
    "SnapshotInfo",
    "SnapshotVersionError",
    "SnapshotWatcher",
    "load",
    "read_info",
    "save",
]
