"""What every command shares: settings, a database session, the actor name, error printing."""

from __future__ import annotations

import functools
import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from bastion.clock import SystemClock
from bastion.config import get_settings
from bastion.db import DatabaseUnavailable, make_engine, make_sessionmaker
from bastion.db.engine import check_reachable
from bastion.errors import BastionError

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)
clock = SystemClock()
F = TypeVar("F", bound=Callable[..., Any])


def actor() -> str:
    """How a command-line operator appears in the audit log."""
    return f"cli:{getpass.getuser()}"


@contextmanager
def db_session() -> Iterator[Session]:
    engine = make_engine(get_settings().effective_database_url)
    check_reachable(engine)
    try:
        with make_sessionmaker(engine)() as session:
            yield session
    finally:
        engine.dispose()


def friendly_errors(fn: F) -> F:
    """Turn typed errors into one readable line and a non-zero exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DatabaseUnavailable as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(2) from None
        except BastionError as exc:
            err_console.print(f"[red]{exc.message}[/red]")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]
