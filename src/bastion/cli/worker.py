"""`bastion worker`: run Bastion's tasks from the broker, on as many machines as the work needs."""

from __future__ import annotations

import os
import socket

import typer

from bastion.broker import QUEUES
from bastion.cli.common import console, friendly_errors
from bastion.config import get_settings
from bastion.errors import InvalidInput


@friendly_errors
def worker_command(
    queues: str = typer.Option(",".join(QUEUES), help=f"Comma-separated queues to consume, of: {', '.join(QUEUES)}."),
    concurrency: int = typer.Option(4, min=1, help="Tasks run at once (threads; hashing runs in decoder processes)."),
    tick: bool = typer.Option(False, "--tick/--no-tick", help="Also claim and run due timers (safe on any number)."),
    hostname: str = typer.Option("", help="Worker name in the broker (default bastion@<host>:<pid>)."),
) -> None:
    """Consume task messages from BASTION_BROKER_URL and run them with this instance's settings."""
    from bastion import logs
    from bastion.db import make_engine, migrate
    from bastion.db.engine import check_reachable
    from bastion.web.app import create_app
    from bastion.web.scaleout import run_worker

    settings = get_settings()
    if not settings.broker_url:
        raise InvalidInput("Set BASTION_BROKER_URL (amqp://… or redis://…) to run workers; without a broker "
                           "`bastion serve` runs every task itself.")
    chosen = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = sorted(set(chosen) - set(QUEUES))
    if unknown or not chosen:
        raise InvalidInput(f"Unknown queues {unknown}; choose from {', '.join(QUEUES)}.")
    logs.configure(settings.log_level, settings.log_json)
    engine = make_engine(settings.effective_database_url)
    check_reachable(engine)
    if not migrate.is_current(engine):
        console.print("[red]The database schema is not current. Run `bastion db upgrade` first.[/red]")
        raise typer.Exit(2)
    state = create_app(settings, engine=engine).state.bastion  # the same wiring as the server's tasks get
    name = hostname or f"bastion@{socket.gethostname()}:{os.getpid()}"
    console.print(f"Bastion worker {name} on {', '.join(chosen)} (concurrency {concurrency})")
    run_worker(state, queues=chosen, concurrency=concurrency, tick=tick, hostname=name)
