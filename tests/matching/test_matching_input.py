"""Malformed hashes are skipped and reported, never crash or corrupt an index."""

from __future__ import annotations

import numpy as np
import pytest

from bastion.matching import BruteForcePDQIndex, CheckedPDQIndex, Match, MIHPDQIndex

from ._data import random_hashes

IMPLEMENTATIONS = [MIHPDQIndex, BruteForcePDQIndex, CheckedPDQIndex]


def _mixed_batch() -> tuple[list[int], list[object], dict[int, str]]:
    h = random_hashes(np.random.default_rng(40), 3)
    rows: list[object] = [
        h[0].tobytes().hex(),  # good: hex
        h[1].tobytes(),  # good: raw bytes
        h[2],  # good: uint8 array
        h[0].tobytes().hex()[:-2],  # short hex
        "zz" * 32,  # non-hex
        " " + h[0].tobytes().hex()[1:],  # whitespace smuggled in
        h[0].tobytes()[:31],  # 31 bytes
        None,
        12345,
        np.zeros(31, np.uint8),
        np.full(32, 300, np.int64),  # not bytes
        h[1].tobytes().hex().upper(),  # good: upper-case hex
    ]
    bad = {3: "64-character", 4: "64-character", 5: "64-character", 6: "32 raw bytes",
           7: "unsupported", 8: "unsupported", 9: "shape", 10: "not bytes"}
    return list(range(100, 100 + len(rows))), rows, bad


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_build_reports_bad_rows_and_keeps_good(cls: type) -> None:
    ids, rows, bad = _mixed_batch()
    index = cls.build(ids, rows)
    report = index.build_report
    assert report.accepted == 4 and not report.ok
    assert [r.row for r in report.rejected] == sorted(bad)
    assert report.rejected_ids == [100 + i for i in sorted(bad)]
    for r in report.rejected:
        assert bad[r.row] in r.reason
    assert len(index) == 4
    assert [m.entry_id for m in index.query(rows[1])] == [101, 111]


@pytest.mark.parametrize("cls", IMPLEMENTATIONS)
def test_add_reports_bad_rows(cls: type) -> None:
    index = cls.build([1], random_hashes(np.random.default_rng(41), 1))
    ids, rows, bad = _mixed_batch()
    report = index.add(ids, rows)
    assert report.accepted == 4 and len(report.rejected) == len(bad)
    assert len(index) == 5
    assert index.query(rows[0])[0] == Match(100, 0)


def test_wrong_width_array_rejected_row_by_row() -> None:
    index = MIHPDQIndex.build([1, 2], np.zeros((2, 31), np.uint8))
    assert len(index) == 0 and index.build_report.rejected_ids == [1, 2]
    report = index.add([3], np.zeros((1, 32), np.int32))
    assert report.accepted == 1 and index.query(np.zeros(32, np.uint8)) == [Match(3, 0)]


def test_structural_errors_raise_and_leave_index_unchanged() -> None:
    index = MIHPDQIndex.build([1], np.zeros((1, 32), np.uint8))
    with pytest.raises(ValueError):
        index.add([1, 2], np.zeros((1, 32), np.uint8))
    with pytest.raises(ValueError):
        index.add(["a"], np.zeros((1, 32), np.uint8))
    with pytest.raises(ValueError):
        index.add([[1]], np.zeros((1, 32), np.uint8))
    assert len(index) == 1


def test_malformed_query_raises_value_error() -> None:
    index = MIHPDQIndex.build([1], np.zeros((1, 32), np.uint8))
    for bad in ("xyz", b"\x00" * 31, np.zeros(33, np.uint8)):
        with pytest.raises(ValueError, match="malformed"):
            index.query(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        index.query_batch(np.zeros((2, 31), np.uint8))
    assert index.query("00" * 32) == index.query(b"\x00" * 32) == [Match(1, 0)]
