"""Storage: engine, sessions, the declarative base, and Alembic migrations."""

from bastion.db.base import Base
from bastion.db.engine import DatabaseUnavailable, make_engine, make_sessionmaker

__all__ = ["Base", "DatabaseUnavailable", "make_engine", "make_sessionmaker"]
