"""add/remove/compact: incremental, immediately visible, safe under concurrent reads."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from bastion.matching import BruteForcePDQIndex, CheckedPDQIndex, Match, MIHPDQIndex, mih

from ._data import flip, random_hashes


def _checked(rng: np.random.Generator, n: int) -> tuple[CheckedPDQIndex, np.ndarray]:
    stored = random_hashes(rng, n)
    ids = np.arange(n, dtype=np.int64)
    return CheckedPDQIndex(MIHPDQIndex.build(ids, stored), BruteForcePDQIndex.build(ids, stored)), stored


def test_random_operation_sequence_matches_reference() -> None:
    rng = np.random.default_rng(20)
    index, stored = _checked(rng, 20_000)
    next_id = 20_000
    probes = [stored[i] for i in range(0, 20_000, 997)]
    for step in range(30):
        op = rng.integers(0, 4)
        if op == 0:  # add near-duplicates of existing rows (and exact copies)
            k = int(rng.integers(1, 50))
            src = stored[rng.integers(0, stored.shape[0], size=k)]
            new = np.stack([flip(rng, h, int(rng.integers(0, 40))) for h in src])
            index.add(np.arange(next_id, next_id + k), new)
            next_id += k
        elif op == 1:  # remove a mix of main, delta and unknown ids
            index.remove(rng.integers(0, next_id + 100, size=int(rng.integers(1, 40))))
        elif op == 2 and step % 3 == 0:
            index.compact()
        for t in (0, 31, 48):
            index.query_batch(np.stack(probes), t)
        index.query(probes[step % len(probes)], 31)
    index.compact()
    index.query_batch(np.stack(probes), 31)
    assert len(index) == len(index.reference)


def test_changes_visible_when_call_returns() -> None:
    rng = np.random.default_rng(21)
    stored = random_hashes(rng, 5_000)
    index = MIHPDQIndex.build(np.arange(5_000), stored)
    h = random_hashes(rng, 1)[0]
    assert index.add([99_999], h[None, :]).accepted == 1
    assert Match(99_999, 0) in index.query(h)
    assert index.remove([99_999, 3]) == 2
    assert index.query(h) == [] and Match(3, 0) not in index.query(stored[3])
    assert index.remove([99_999]) == 0
    index.add([3], stored[3][None, :])  # re-add a removed main id: only the new row counts
    assert index.query(stored[3]) == [Match(3, 0)]
    assert index.pending == (1, 2)
    assert index.compact() is True
    assert index.pending == (0, 0) and index.compact() is False
    assert index.query(stored[3]) == [Match(3, 0)] and len(index) == 5_000


def test_compaction_replays_writes_made_while_it_ran(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(22)
    stored = random_hashes(rng, 5_000)
    index = MIHPDQIndex.build(np.arange(5_000), stored)
    index.add([10_000], random_hashes(rng, 1))
    started, release = threading.Event(), threading.Event()
    real_build = mih.MIHTables.build.__func__  # type: ignore[attr-defined]

    def slow_build(cls, *args, **kwargs):  # type: ignore[no-untyped-def]
        started.set()
        assert release.wait(10)
        return real_build(cls, *args, **kwargs)

    monkeypatch.setattr(mih.MIHTables, "build", classmethod(slow_build))
    real_appended = mih.MIHTables.appended

    def slow_appended(self, *args, **kwargs):  # type: ignore[no-untyped-def]  # the merge path (pure additions)
        started.set()
        assert release.wait(10)
        return real_appended(self, *args, **kwargs)

    monkeypatch.setattr(mih.MIHTables, "appended", slow_appended)
    t = threading.Thread(target=index.compact)
    t.start()
    assert started.wait(10)
    late = random_hashes(rng, 1)
    index.add([20_000], late)  # lands in the old delta *and* the replay log
    index.remove([1, 10_000])
    assert Match(20_000, 0) in index.query(late[0])
    release.set()
    t.join()
    assert Match(20_000, 0) in index.query(late[0])
    assert index.query(stored[1]) == []
    assert len(index) == 5_000 - 1 + 1
    assert index.pending == (1, 2)  # late add in the new delta; both removals tombstoned


def test_concurrent_reads_during_writes_and_compaction() -> None:
    rng = np.random.default_rng(23)
    stored = random_hashes(rng, 30_000)
    index = MIHPDQIndex.build(np.arange(30_000), stored)
    stable = list(range(0, 30_000, 1_500))  # never removed: must always be found
    stop = threading.Event()
    errors: list[BaseException] = []
    reads = [0]

    def reader() -> None:
        try:
            while not stop.is_set():
                for i in stable:
                    got = index.query(flip(rng_reader, stored[i], 5), 31)
                    assert Match(i, 5) in got, (i, got)
                batch = index.query_batch(stored[stable], 0)
                assert all(Match(i, 0) in r for i, r in zip(stable, batch))
                reads[0] += 1
        except BaseException as e:  # noqa: BLE001 - surfaced below
            errors.append(e)

    rng_reader = np.random.default_rng(99)
    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    next_id = 30_000
    for round_ in range(6):
        new = random_hashes(rng, 200)
        index.add(np.arange(next_id, next_id + 200), new)
        next_id += 200
        victims = [i for i in rng.integers(0, 30_000, size=100).tolist() if i not in stable]
        index.remove(victims)
        if round_ % 2 == 1:
            index.compact()
    deadline = threading.Event()
    for _ in range(200):  # let the readers finish a few full passes over the final state
        if reads[0] >= 3 or errors:
            break
        deadline.wait(0.05)
    stop.set()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert reads[0] > 0
