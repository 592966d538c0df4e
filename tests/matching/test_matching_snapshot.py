"""Snapshots: roundtrip, refusal of damaged/foreign files, watcher swaps without leaking maps."""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

import numpy as np
import pytest

from bastion.matching import (
    Match,
    MIHPDQIndex,
    SnapshotCorruptError,
    SnapshotError,
    SnapshotVersionError,
    SnapshotWatcher,
    load,
    read_info,
    save,
)
from bastion.matching.snapshot import FORMAT_VERSION, MAGIC

from ._data import flip, random_hashes


@pytest.fixture
def populated() -> tuple[MIHPDQIndex, np.ndarray]:
    rng = np.random.default_rng(30)
    stored = random_hashes(rng, 20_000)
    index = MIHPDQIndex.build(np.arange(20_000) * 2, stored)
    index.add([1, 3, 5], random_hashes(rng, 3))
    index.remove([0, 3, 40])
    return index, stored


def _queries(stored: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(31)
    return np.stack([flip(rng, stored[i], i % 40) for i in range(0, 20_000, 500)])


def _maps_of(directory: Path) -> int:
    with open("/proc/self/maps") as f:
        return sum(1 for line in f if str(directory) in line)


def test_roundtrip_preserves_every_answer(tmp_path: Path, populated: tuple[MIHPDQIndex, np.ndarray]) -> None:
    index, stored = populated
    info = save(index, tmp_path / "pdq.idx", generation=7)
    assert (info.generation, info.rows, info.delta_rows, info.tombstones) == (7, len(index), 2, 2)
    loaded = load(tmp_path / "pdq.idx", verify="full")
    assert len(loaded) == len(index) and loaded.generation == 7
    q = _queries(stored)
    for t in (0, 31, 64):
        assert loaded.query_batch(q, t) == index.query_batch(q, t)
    assert not loaded.main.words.flags.writeable  # served straight from the mapping
    assert os.listdir(tmp_path) == ["pdq.idx"]  # no temp files left behind
    loaded.close()


def test_loaded_index_accepts_updates_and_compacts(tmp_path: Path, populated: tuple[MIHPDQIndex, np.ndarray]) -> None:
    index, stored = populated
    save(index, tmp_path / "pdq.idx")
    loaded = load(tmp_path / "pdq.idx")
    loaded.add([777_777], stored[10][None, :])
    loaded.remove([20])
    assert loaded.query(stored[10]) == [Match(777_777, 0)]  # id 20 (row 10) removed
    loaded.compact()
    assert loaded.query(stored[10]) == [Match(777_777, 0)]
    assert loaded.main.words.flags.writeable  # rebuilt in memory


def test_overwrite_while_old_mapping_in_use(tmp_path: Path, populated: tuple[MIHPDQIndex, np.ndarray]) -> None:
    index, stored = populated
    path = tmp_path / "pdq.idx"
    save(index, path, generation=1)
    old = load(path)
    save(MIHPDQIndex.build([5], stored[:1]), path, generation=2)
    assert old.query(stored[2]) == [Match(4, 0)]  # old inode still mapped and intact
    assert load(path).query(stored[0]) == [Match(5, 0)]


@pytest.mark.parametrize("keep", [0, 10, 23, 100, 4096, -1])
def test_truncated_snapshot_refused(tmp_path: Path, populated: tuple[MIHPDQIndex, np.ndarray], keep: int) -> None:
    path = tmp_path / "pdq.idx"
    save(populated[0], path)
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size + keep if keep < 0 else keep)
    with pytest.raises(SnapshotError, match="truncated|magic"):
        load(path)


def test_wrong_version_refused(tmp_path: Path, populated: tuple[MIHPDQIndex, np.ndarray]) -> None:
    path = tmp_path / "pdq.idx"
    save(populated[0], path)
    with open(path, "r+b") as f:
        f.seek(len(MAGIC))
        f.write(struct.pack("<I", FORMAT_VERSION + 1))
    with pytest.raises(SnapshotVersionError, match=f"version {FORMAT_VERSION + 1}"):
        load(path)


def test_foreign_and_corrupt_files_refused(tmp_path: Path, populated: tuple[MIHPDQIndex, np.ndarray]) -> None:
    foreign = tmp_path / "foreign.pkl"
    foreign.write_bytes(b"\x80\x04\x95" + os.urandom(5000))
    with pytest.raises(SnapshotError, match="not a Bastion"):
        load(foreign)
    path = tmp_path / "pdq.idx"
    save(populated[0], path)
    data = bytearray(path.read_bytes())
    header_byte = bytearray(data)
    header_byte[40] ^= 0xFF
    path.write_bytes(bytes(header_byte))
    with pytest.raises(SnapshotCorruptError, match="header checksum"):
        load(path)
    content = bytearray(data)
    content[len(content) // 2] ^= 0x01  # one bit deep inside an array
    path.write_bytes(bytes(content))
    with pytest.raises(SnapshotCorruptError, match="SHA-256"):
        load(path, verify="full")
    content[-1] ^= 0x01  # the last page is always in the sample
    path.write_bytes(bytes(content))
    with pytest.raises(SnapshotCorruptError, match="sampled checksum"):
        load(path)


def test_watcher_swaps_to_newer_and_releases_old_maps(tmp_path: Path) -> None:
    rng = np.random.default_rng(32)
    path = tmp_path / "pdq.idx"
    hashes = random_hashes(rng, 2_000)
    save(MIHPDQIndex.build(np.arange(2_000), hashes), path, generation=1)
    with SnapshotWatcher(path) as watcher:
        assert watcher.refresh() is False and watcher.generation == 1
        for gen in range(2, 12):
            save(MIHPDQIndex.build(np.arange(2_000) + gen * 10_000, hashes), path, generation=gen)
            assert watcher.refresh() is True
            assert watcher.index.query(hashes[0]) == [Match(gen * 10_000, 0)]
            assert _maps_of(tmp_path) <= 1  # old files unmapped, not accumulating
        save(MIHPDQIndex.build([1], hashes[:1]), path, generation=5)  # an older generation
        assert watcher.refresh() is False and watcher.generation == 11
        assert read_info(path).generation == 5


def test_watcher_keeps_serving_when_new_file_is_bad(tmp_path: Path) -> None:
    rng = np.random.default_rng(33)
    path = tmp_path / "pdq.idx"
    hashes = random_hashes(rng, 100)
    save(MIHPDQIndex.build(np.arange(100), hashes), path, generation=1)
    watcher = SnapshotWatcher(path)
    tmp = tmp_path / "junk"
    tmp.write_bytes(b"junk")
    os.replace(tmp, path)
    with pytest.raises(SnapshotError):
        watcher.refresh()
    assert watcher.index.query(hashes[3]) == [Match(3, 0)]
    watcher.close()


def test_watcher_background_polling(tmp_path: Path) -> None:
    rng = np.random.default_rng(34)
    path = tmp_path / "pdq.idx"
    hashes = random_hashes(rng, 100)
    save(MIHPDQIndex.build(np.arange(100), hashes), path, generation=1)
    with SnapshotWatcher(path) as watcher:
        watcher.start(interval=0.01)
        save(MIHPDQIndex.build(np.arange(100) + 500, hashes), path, generation=2)
        deadline = time.monotonic() + 10
        while watcher.generation != 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert watcher.index.query(hashes[0]) == [Match(500, 0)]
