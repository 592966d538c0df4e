"""Index snapshots shared through an S3-compatible store (moto over HTTP) between matchers on PostgreSQL.

Each matcher stands for a machine: its own cache directory, the shared database and the shared
store. Publishing is one writer at a time under the PostgreSQL advisory lock.
"""

from __future__ import annotations

import hashlib
import io
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bastion.banks import service, transfer
from bastion.clock import ManualClock
from bastion.db import make_engine, make_sessionmaker
from bastion.matching.banked import BankMatcher
from bastion.matching.publish_lock import publish_lock
from bastion.matching.store import KEEP, POINTER, RemoteSnapshotStore, SnapshotStoreError, open_store
from tests.conftest import _truncate
from tests.scaleout.s3server import S3


def _pdq(i: int) -> str:
    return hashlib.sha256(f"snap-{i}".encode()).hexdigest()


@pytest.fixture
def pg(postgres_database: str) -> Iterator[sessionmaker[Session]]:
    _truncate(postgres_database)
    engine = make_engine(postgres_database)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc))


def _import(sessions: sessionmaker[Session], clock: ManualClock, first: int, count: int) -> None:
    with sessions() as db:
        banks = service.list_banks(db)
        bank = banks[0] if banks else service.create_bank(db, name="SHARED", actor="t", clock=clock)
        lines = "".join(f"pdq {_pdq(i)}\n" for i in range(first, first + count))
        report = transfer.import_lines(db, bank, lambda: io.StringIO(lines), "te", actor="t", clock=clock)
        assert report.imported == count
        db.commit()


def _machine(sessions: sessionmaker[Session], clock: ManualClock, s3: S3, cache: Path,
             check_seconds: float = 0.0) -> BankMatcher:
    store = open_store(s3.url(), default_dir=cache, cache_dir=cache, endpoint_url=s3.endpoint)
    return BankMatcher(sessions, clock, refresh_seconds=0, store=store, snapshot_check_seconds=check_seconds)


def _hits(matcher: BankMatcher, i: int) -> int:
    return len(matcher.raw_pdq([_pdq(i)], 31)[0])


def test_a_snapshot_published_to_s3_is_where_other_machines_start(pg: sessionmaker[Session], clock: ManualClock,
                                                                   s3: S3, tmp_path: Path) -> None:
    _import(pg, clock, 1, 30)
    writer = _machine(pg, clock, s3, tmp_path / "a")
    writer.load()
    generation = writer.write_snapshot()
    assert generation == 30
    assert s3.keys() == [f"pdq/{POINTER}", f"pdq/pdq-{30:020d}.snapshot"]
    assert writer.write_snapshot() is None  # nothing new: not published again

    _import(pg, clock, 100, 5)  # logged after the snapshot
    reader = _machine(pg, clock, s3, tmp_path / "b")
    reader.load()
    assert reader._snapshot_generation == 30  # started from the store's snapshot ...
    assert (tmp_path / "b" / f"pdq-{30:020d}.snapshot").exists()  # ... downloaded, then mapped
    assert reader.status().size == 35 and reader.status().last_change == 35  # ... and replayed the rest
    assert _hits(reader, 3) == 1 and _hits(reader, 102) == 1

    # A newer snapshot from the writer: the reader fetches, maps and catches it up in the background, then swaps.
    _import(pg, clock, 200, 5)
    assert writer.write_snapshot() == 40
    _import(pg, clock, 300, 2)
    assert _hits(reader, 301) == 1  # the query did not wait for the swap, and still saw the new change
    thread = reader._swap
    assert thread is not None
    thread.join(30)
    assert reader._snapshot_generation == 40 and reader.status().size == 42 and reader.status().last_change == 42
    assert _hits(reader, 201) == 1 and _hits(reader, 301) == 1 and _hits(reader, 4) == 1
    assert sorted(p.name for p in (tmp_path / "b").glob("pdq-*.snapshot")) == [f"pdq-{40:020d}.snapshot"]

    for n in range(KEEP + 1):  # old objects are pruned; the newest KEEP stay
        _import(pg, clock, 400 + 10 * n, 1)
        writer.write_snapshot()
    objects = [k for k in s3.keys() if k.endswith(".snapshot")]
    assert len(objects) == KEEP and objects[-1] == f"pdq/pdq-{46:020d}.snapshot"


def test_a_bad_pointer_or_unreachable_store_falls_back_to_the_database(pg: sessionmaker[Session], clock: ManualClock,
                                                                       s3: S3, tmp_path: Path) -> None:
    _import(pg, clock, 1, 4)
    s3.client().put_object(Bucket=s3.bucket, Key=f"pdq/{POINTER}", Body=b"{not json")
    store = open_store(s3.url(), default_dir=tmp_path, cache_dir=tmp_path, endpoint_url=s3.endpoint)
    with pytest.raises(SnapshotStoreError, match="unreadable"):
        store.latest()
    matcher = _machine(pg, clock, s3, tmp_path)
    matcher.load()
    assert matcher.status().size == 4 and matcher._snapshot_generation == 4  # built from the database

    nowhere = RemoteSnapshotStore(f"s3://{s3.bucket}/pdq", tmp_path / "c",
                                  client_kwargs={"endpoint_url": "http://127.0.0.1:9"})
    with pytest.raises(SnapshotStoreError, match="cannot be used"):
        nowhere.latest()


def test_only_one_writer_publishes_at_a_time(pg: sessionmaker[Session], clock: ManualClock, s3: S3,
                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _import(pg, clock, 1, 10)
    writers = [_machine(pg, clock, s3, tmp_path / f"m{i}") for i in range(4)]
    for writer in writers:
        writer.load()
    engine = pg.kw["bind"]

    # Someone else holds the lock: a writer that will not wait publishes nothing.
    with publish_lock(engine, tmp_path / "unused.lock") as held:
        assert held
        assert writers[0].write_snapshot() is None
        assert s3.keys() == []
    assert writers[0].write_snapshot() == 10  # free again

    # Four machines publish at once: they take turns, and those after the first find nothing newer to publish.
    _import(pg, clock, 100, 3)
    inside, most, published = [0], [0], []
    guard = threading.Lock()
    real_publish = RemoteSnapshotStore.publish

    def slow_publish(self: RemoteSnapshotStore, index: object, generation: int) -> object:
        with guard:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        time.sleep(0.3)  # an upload in progress
        try:
            result = real_publish(self, index, generation)  # type: ignore[arg-type]
            published.append(generation)
            return result
        finally:
            with guard:
                inside[0] -= 1

    monkeypatch.setattr(RemoteSnapshotStore, "publish", slow_publish)
    results: list[int | None] = []
    threads = [threading.Thread(target=lambda w=w: results.append(w.write_snapshot(wait=30))) for w in writers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert most[0] == 1  # never two publishers at once
    assert published == [13] and sorted(results, key=lambda r: r or 0) == [None, None, None, 13]
    latest = open_store(s3.url(), default_dir=tmp_path, cache_dir=tmp_path / "check", endpoint_url=s3.endpoint).latest()
    assert latest is not None and latest.generation == 13 and latest.rows == 13


def test_a_change_committed_after_a_later_one_is_not_missed(pg: sessionmaker[Session], clock: ManualClock,
                                                            s3: S3, tmp_path: Path) -> None:
    """PostgreSQL numbers a change at insert and shows it at commit: a slow transaction commits below the tail."""
    _import(pg, clock, 1, 3)
    matcher = _machine(pg, clock, s3, tmp_path / "a")
    matcher.load()
    with pg() as slow:
        bank = service.list_banks(slow)[0]
        service.add_entry(slow, bank, {"pdq": _pdq(500)}, actor="t", clock=clock)
        slow.flush()  # its change has a number now, below the next one, and is not committed
        _import(pg, clock, 600, 1)  # a later change, committed first
        assert _hits(matcher, 600) == 1 and _hits(matcher, 500) == 0
        assert matcher._gaps  # the hole is watched ...
        # ... and a snapshot published now, past the hole, does not carry it either
        assert matcher.write_snapshot() == matcher.status().last_change
        slow.commit()
    assert _hits(matcher, 500) == 1 and matcher._gaps == []  # the late commit is applied
    fresh = _machine(pg, clock, s3, tmp_path / "b")
    fresh.load()  # from that snapshot, replaying a window before it
    assert fresh._snapshot_generation == matcher._snapshot_generation and _hits(fresh, 500) == 1
