"""Engines and sessions for SQLite (embedded default) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

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
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(url, **kwargs)
    event.listen(engine, "before_cursor_execute", refuse_nul)
    return engine


def refuse_nul(_conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, executemany: bool) -> None:
    """No text with a NUL character is written or searched for, on either database.

    PostgreSQL cannot store one in text and fails the whole statement; SQLite stores it and
    other tools then truncate the value at it. Checked here, at the one door every write and
    query passes, so a NUL in a content id, account id or any metadata field is a 422 with a
    sentence (`InvalidInput`) wherever it came in: API, form, HMA route, CLI or import.
    """
    for row in (parameters if executemany else (parameters,)):
        values = row.values() if isinstance(row, dict) else row if isinstance(row, (list, tuple)) else ()
        if any(isinstance(v, str) and "\x00" in v for v in values):
            raise InvalidInput("Text may not contain NUL (\\x00) characters; remove them and send it again.")


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
