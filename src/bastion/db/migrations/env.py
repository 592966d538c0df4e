"""Alembic environment: runs migrations on the engine handed over in `config.attributes`."""

from __future__ import annotations

from alembic import context

import bastion.models  # noqa: F401  (registers every table on Base.metadata)
from bastion.db.base import Base

config = context.config
engine = config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
