"""Storage: migrations match the models, SQLite is configured safely, bad URLs fail clearly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

import bastion.models  # noqa: F401
from bastion.cli.main import app as cli
from bastion.db.base import Base


def test_migrations_produce_exactly_the_models(engine: Engine) -> None:
    """If someone changes a model without a migration, this names the difference."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"models and migrations differ; write a migration: {diff}"


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    from bastion.db import make_engine

    engine = make_engine(sqlite_url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_unreachable_database_is_one_clear_line(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bastion.config import get_settings

    monkeypatch.setenv("BASTION_DATABASE_URL", "postgresql://bastion:hunter2secret@127.0.0.1:1/bastion")
    monkeypatch.setenv("BASTION_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["db", "upgrade"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "Cannot reach the database at postgresql+psycopg://bastion:***@127.0.0.1:1/bastion" in result.output
    assert "hunter2secret" not in result.output and "Traceback" not in result.output
