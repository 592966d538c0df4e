"""Engines and sessions for SQLite (embedded default) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bastion.config.settings import mask_url
from bastion.errors import InvalidInput


class DatabaseUnavailable(RuntimeError):
    """The database could not be reached; the message names the (masked) URL."""


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain `postgresql://` URLs (SQLAlchemy would pick psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with Bastion's per-backend settings.

    SQLite gets WAL (readers never block the writer), foreign keys (off by default in
    SQLite!) and a busy timeout so concurrent writers wait instead of failing at once.
    """
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database))
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(url, **kwargs)
    event.listen(engine, "before_cursor_execute", refuse_unstorable)
    return engine


_INT64 = range(-(2**63), 2**63)


def _private_file(path: Path) -> None:
    """Create the database file readable by its owner only (0600, in a 0700 directory if we make one).

    SQLite gives its -wal and -shm files the database file's permissions, so they follow.
    """
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def refuse_unstorable(_conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any,
                      executemany: bool) -> None:
    """No value either database cannot hold is written or searched for: a 422, not a crash.

    Text with a NUL character: PostgreSQL fails the whole statement, SQLite stores it and other
    tools then cut the value short. Integers past 64 bits (an id or a cursor of 2**70 in a URL):
    both drivers raise. Checked here, at the one door every write and query passes, so such a
    value is refused with a sentence (`InvalidInput`) wherever it came in: API, form, HMA route,
    command line or import.
    """
    for row in (parameters if executemany else (parameters,)):
        values = row.values() if isinstance(row, dict) else row if isinstance(row, (list, tuple)) else ()
        for value in values:
            if isinstance(value, str) and "\x00" in value:
                raise InvalidInput("Text may not contain NUL (\\x00) characters; remove them and send it again.")
            if isinstance(value, int) and value not in _INT64:
                raise InvalidInput(f"The number {str(value)[:30]}… is out of range; use an id or count that exists.")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (handlers render them)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def check_reachable(engine: Engine) -> None:
    """Raise `DatabaseUnavailable` with one clear line if the database cannot be reached."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
        raise DatabaseUnavailable(
            f"Cannot reach the database at {mask_url(str(engine.url.render_as_string(hide_password=False)))}: "
            f"{reason}. Check BASTION_DATABASE_URL and that the server is running."
        ) from exc
