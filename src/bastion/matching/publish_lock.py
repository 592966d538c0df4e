"""One snapshot writer at a time, across every machine: a PostgreSQL advisory lock.

Any process may be asked to publish (the `matching.snapshot` timer, `bastion banks import`,
`bastion banks snapshot`). Two publishing at once would race on the store's pointer; the lock
makes them take turns, and the one that comes second sees the first's generation and skips
(see `BankMatcher.write_snapshot`). The lock is session-level on a connection of its own in
autocommit (no transaction stays open during an upload); if the process dies, PostgreSQL
releases it with the connection. SQLite means one machine, so a file lock stands in there.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

PUBLISH_LOCK_KEY = 0x4261_7374_5044_5153  # "BastPDQS": Bastion's PDQ snapshot publisher
_POLL_SECONDS = 0.2


@contextlib.contextmanager
def publish_lock(engine: Engine, lock_file: Path, *, wait: float = 0.0) -> Iterator[bool]:
    """Hold the publisher lock for the block; yields False (and holds nothing) if it stayed busy for `wait` s."""
    if engine.dialect.name == "postgresql":
        with _advisory(engine, wait) as held:
            yield held
    else:
        with _file_lock(lock_file, wait) as held:
            yield held


def _retry(attempt: object, wait: float) -> bool:
    deadline = time.monotonic() + wait
    while True:
        if attempt():  # type: ignore[operator]
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_SECONDS)


@contextlib.contextmanager
def _advisory(engine: Engine, wait: float) -> Iterator[bool]:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        held = _retry(lambda: bool(connection.scalar(text("SELECT pg_try_advisory_lock(:k)"),
                                                     {"k": PUBLISH_LOCK_KEY})), wait)
        try:
            yield held
        finally:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": PUBLISH_LOCK_KEY})


@contextlib.contextmanager
def _file_lock(path: Path, wait: float) -> Iterator[bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        def attempt() -> bool:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        held = _retry(attempt, wait)
        try:
            yield held
        finally:
            if held:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def lock_holder_exists(engine: Engine) -> bool:
    """Whether some session holds the publisher lock right now (PostgreSQL only; for status and tests)."""
    if engine.dialect.name != "postgresql":
        return False
    with engine.connect() as connection:
        return bool(connection.scalar(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND ((classid::bigint << 32) | objid::bigint) = :k"), {"k": PUBLISH_LOCK_KEY}))
