"""Alembic, driven from code: the migration scripts ship inside the package.

No `alembic.ini` is needed at the repository root; `bastion db upgrade` builds the
configuration here so an installed Bastion can migrate its own database.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to `engine` (passed through, not re-created from a URL)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Apply migrations up to `revision` (default: every head).

    Domains add their tables in migrations of their own that may branch from the same
    parent; "heads" applies all branches, and a merge revision joins them later.
    """
    command.upgrade(alembic_config(engine), revision)


def head_revision() -> str | None:
    """The newest migration(s) shipped with this code, joined with '+' when branched."""
    heads = sorted(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())
    return "+".join(heads) or None


def current_revision(engine: Engine) -> str | None:
    """The revision(s) the database is at, or None if it was never migrated."""
    with engine.connect() as connection:
        heads = sorted(MigrationContext.configure(connection).get_current_heads())
    return "+".join(heads) or None


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest shipped migration(s)."""
    return current_revision(engine) == head_revision()
