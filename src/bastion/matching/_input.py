"""Turning caller input into clean ``(ids int64, hashes uint8 (n, 32))`` arrays.

Indexes never crash on a bad hash in a batch: rows that are not a 32-byte hash
(wrong length, non-hex text, wrong type) are skipped and described in an
:class:`IngestReport`. A structurally wrong *call* (ids and hashes of different
lengths, ids that are not integers) is a programming error and raises
``ValueError`` before anything is changed.

The media package owns PDQ hex <-> bytes for the application; the tiny strict
converter here exists so this package imports nothing else of ours.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from ._bits import HASH_BYTES

HashLike = Union[np.ndarray, bytes, bytearray, memoryview, str]
"""One PDQ hash: 32 raw bytes, a uint8 array of 32, or 64 hex characters."""

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class RejectedRow:
    """One input row that was not indexed."""

    row: int
    """Position of the row in the batch passed to ``build``/``add``."""
    entry_id: int
    reason: str


@dataclass(frozen=True)
class IngestReport:
    """What ``build``/``add`` did with a batch: how many rows went in, which did not."""

    accepted: int
    rejected: tuple[RejectedRow, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.rejected

    @property
    def rejected_ids(self) -> list[int]:
        return [r.entry_id for r in self.rejected]


def _hash_row(value: Any) -> np.ndarray | str:
    """Return a uint8 (32,) array, or a string saying why ``value`` is not a hash."""
    if isinstance(value, str):
        if _HEX64.fullmatch(value) is None:
            return f"not a 64-character hex string (length {len(value)})"
        return np.frombuffer(bytes.fromhex(value), dtype=np.uint8)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        if len(raw) != HASH_BYTES:
            return f"expected {HASH_BYTES} raw bytes, got {len(raw)}"
        return np.frombuffer(raw, dtype=np.uint8)
    if isinstance(value, np.ndarray):
        if value.shape != (HASH_BYTES,):
            return f"expected array shape ({HASH_BYTES},), got {value.shape}"
        if value.dtype == np.uint8:
            return value
        if value.dtype.kind in "iu" and value.min() >= 0 and value.max() <= 255:
            return value.astype(np.uint8)
        return f"array of dtype {value.dtype} is not bytes"
    return f"unsupported hash type {type(value).__name__}"


def coerce_ids(ids: Iterable[int] | np.ndarray) -> np.ndarray:
    """int64 (n,) copy-free when possible; raises ValueError for non-integer ids."""
    arr = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids))
    if arr.ndim != 1:
        raise ValueError(f"ids must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"ids must be integers, got dtype {arr.dtype}")
    if arr.dtype == np.uint64 and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
        raise ValueError("ids must fit in int64")
    return arr.astype(np.int64, copy=False)


def coerce_batch(
    ids: Iterable[int] | np.ndarray, hashes: np.ndarray | Sequence[HashLike]
) -> tuple[np.ndarray, np.ndarray, IngestReport]:
    """Validate a batch; return ``(ids, hashes uint8 (k, 32), report)`` of the good rows.

    A ``uint8 (n, 32)`` array is the fast path (no per-row Python work): every
    row of such an array is a well-formed hash by construction.
    """
    id_arr = coerce_ids(ids)
    n = id_arr.shape[0]
    if isinstance(hashes, np.ndarray) and hashes.ndim == 2:
        if hashes.shape[0] != n:
            raise ValueError(f"{n} ids but {hashes.shape[0]} hashes")
        if hashes.shape[1] != HASH_BYTES:
            reason = f"expected {HASH_BYTES} bytes per hash, got {hashes.shape[1]}"
            bad = tuple(RejectedRow(i, int(id_arr[i]), reason) for i in range(n))
            return id_arr[:0], np.zeros((0, HASH_BYTES), np.uint8), IngestReport(0, bad)
        if hashes.dtype == np.uint8:
            out = np.ascontiguousarray(hashes)
            return id_arr, out, IngestReport(n)
        # Other dtypes: fall through to the row-by-row path to report bad rows.
        rows: Sequence[Any] = list(hashes)
    else:
        rows = list(hashes) if not isinstance(hashes, list) else hashes
        if len(rows) != n:
            raise ValueError(f"{n} ids but {len(rows)} hashes")

    good_idx: list[int] = []
    good_rows: list[np.ndarray] = []
    rejected: list[RejectedRow] = []
    for i, value in enumerate(rows):
        parsed = _hash_row(value)
        if isinstance(parsed, str):
            rejected.append(RejectedRow(i, int(id_arr[i]), parsed))
        else:
            good_idx.append(i)
            good_rows.append(parsed)
    out = (
        np.stack(good_rows).astype(np.uint8, copy=False)
        if good_rows
        else np.zeros((0, HASH_BYTES), np.uint8)
    )
    return id_arr[good_idx], out, IngestReport(len(good_idx), tuple(rejected))


def coerce_query(value: HashLike) -> np.ndarray:
    """One query hash as uint8 (32,); raises ValueError (a query has no batch to skip in)."""
    parsed = _hash_row(value)
    if isinstance(parsed, str):
        raise ValueError(f"malformed PDQ hash: {parsed}")
    return parsed


def coerce_queries(values: np.ndarray | Sequence[HashLike]) -> np.ndarray:
    """Many query hashes as uint8 (q, 32); raises ValueError on any malformed one."""
    if isinstance(values, np.ndarray) and values.ndim != 2:
        raise ValueError(f"expected (q, {HASH_BYTES}) hashes, got shape {values.shape}")
    if isinstance(values, np.ndarray):
        if values.shape[1] != HASH_BYTES:
            raise ValueError(f"expected (q, {HASH_BYTES}) hashes, got {values.shape}")
        if values.dtype != np.uint8:
            values = np.asarray([coerce_query(v) for v in values])
        return np.ascontiguousarray(values, dtype=np.uint8)
    rows = [coerce_query(v) for v in values]
    if not rows:
        return np.zeros((0, HASH_BYTES), np.uint8)
    return np.stack(rows)
