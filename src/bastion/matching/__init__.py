"""Matching against the banks: exact PDQ indexes (every hash within a threshold, fast) and the bank matcher.

The indexes take numpy arrays (or hex/bytes rows), never database rows;
:mod:`.banked` (``BankMatcher``) applies bank and entry state from the database, and
:mod:`.lookups` serves raw index hits and loads the index on first use. Pieces:

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
