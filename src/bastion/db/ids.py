"""Writing many rows fast, and rows that concurrent requests may create at once.

Reserving primary keys for a bulk insert, so rows can be written without RETURNING.

Why: a bulk import writes an entry and a signal per line, and the signal must name its entry.
Fetching ids back row by row (INSERT … RETURNING through the ORM) cost most of an import's
time; reserving a block of ids first lets both tables be written with plain `executemany`.

- PostgreSQL: ids come from the column's own sequence (`nextval`), so concurrent writers
  never collide and later ordinary inserts continue after the block.
- SQLite: there is no sequence. `lock_for_write` takes the database's write lock first (SQLite
  has one writer at a time), after which `max(id) + 1 …` cannot be taken by anyone else until
  this transaction ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, Table, event, func, select, text, update
from sqlalchemy.orm import Session


def lock_for_write(session: Session, table: Table, row_id: int) -> None:
    """Start the transaction with a write, so SQLite grants this session its single write lock.

    A no-op update of one existing row: on PostgreSQL it is a row lock (serialising bulk writes
    into the same parent row), on SQLite it upgrades the transaction to the write lock.
    """
    id_column = table.c.id
    session.execute(update(table).where(id_column == row_id).values(id=id_column))


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """`count` unused ids of `table`, ascending; see the module docstring for the rules per database."""
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)"),
            {"table": table.name, "n": count},
        ).scalars().all()
        return sorted(int(r) for r in rows)
    start = int(session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0) + 1
    return list(range(start, start + count))



BULK_CACHE_KIB = 256 * 1024
DEFAULT_CACHE_KIB = 2000  # SQLite's own default


@contextmanager
def bulk_write_cache(session: Session) -> Iterator[None]:
    """Give this SQLite connection a page cache big enough for the indexes a bulk import updates.

    SQLite's default cache is 2 MB; inserting random hash values touches index pages all over
    the file, so each batch re-reads them (measured: a fifth of a million-row import's time).
    Only for a session whose engine holds a single connection (the command line's): the setting
    belongs to the connection, and a pooled server connection would keep the big cache. The
    default is restored on the way out all the same. PostgreSQL sizes its own buffers.
    """
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    session.execute(text(f"PRAGMA cache_size = -{BULK_CACHE_KIB}"))
    try:
        yield
    finally:
        session.execute(text(f"PRAGMA cache_size = -{DEFAULT_CACHE_KIB}"))


def bulk_cache_engine(engine: Engine) -> Engine:
    """Give every connection of a short-lived bulk-writing engine (a command's own, never a server's)
    the big SQLite page cache `bulk_write_cache` gives one session: a fan-out job's chunks each run in
    their own session, so the setting has to come with the connection."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", lambda dbapi, _record: dbapi.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}"))
    return engine


def insert_if_absent(session: Session, table: Table, values: dict[str, object]) -> None:
    """INSERT … ON CONFLICT DO NOTHING: a row two requests create at once is created once, without an error.

    The loser of the race sees the winner's row when it reads it back (on PostgreSQL, once the
    winner commits; the insert waits for that). Select after calling this.
    """
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    session.execute(dialect_insert(table).values(**values).on_conflict_do_nothing())

