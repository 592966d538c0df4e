"""`bastion jobs`: follow, cancel and resume fan-out jobs (rescans, bulk imports), and run them.

With a broker, a job's chunks go to the workers' `rescan`/`import` queues and this command only
follows it. Without one, the command runs the chunks itself, through the same relay and task
functions a server uses, and a crash leaves the job resumable (`bastion jobs resume ID`).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bastion.cli.common import actor, clock, console, db_session, err_console, friendly_errors
from bastion.config import get_settings
import bastion.jobs.tasks  # noqa: F401  (registers the chunk tasks: starting a job enqueues them by name)

jobs_app = typer.Typer(help="Fan-out jobs (rescans, bulk imports): list, follow, cancel, resume.",
                       no_args_is_help=True)


def _sessions():  # type: ignore[no-untyped-def]
    from bastion.db import make_engine, make_sessionmaker
    from bastion.db.ids import bulk_cache_engine

    return make_sessionmaker(bulk_cache_engine(make_engine(get_settings().effective_database_url)))


def run_job(job_id: int, messages: list[int], *, services: dict[str, Any], detach: bool) -> None:
    """Hand the job's chunk messages over (broker) or run them here (no broker), then follow it unless detached."""
    from bastion.broker import Relay
    from bastion.executor import InlineExecutor, TaskContext

    settings = get_settings()
    sessions = _sessions()
    if settings.broker_url:
        from bastion.broker import BrokerConfig
        from bastion.broker.celery_app import CeleryDispatcher, make_celery

        relay = Relay(sessions, CeleryDispatcher(make_celery(BrokerConfig.from_settings(settings))), clock)
        _relay_all(relay, messages)  # any that did not go stay pending; a server's or worker's relay sends them
        console.print(f"Job {job_id}: {len(messages)} chunks queued for the workers.")
        if not detach:
            follow(job_id)
        return
    from bastion.broker import ExecutorDispatcher

    ctx = TaskContext(sessions=sessions, clock=clock, services=services)
    relay = Relay(sessions, ExecutorDispatcher(InlineExecutor(ctx)), clock)
    runner = threading.Thread(target=_relay_all, args=(relay, messages), name="bastion-job", daemon=True)
    runner.start()
    follow(job_id, while_alive=runner)


def _relay_all(relay: Any, messages: list[int]) -> None:
    while messages and relay.relay(ids=messages):
        pass


def follow(job_id: int, *, while_alive: threading.Thread | None = None, interval: float = 0.5) -> None:
    """A progress bar following the job until it is done or cancelled (or, running here, until the run ends)."""
    from bastion.jobs import service
    from bastion.jobs.models import OPEN

    with db_session() as session:
        job = service.get(session, job_id)
        title, total = f"{job.kind} {job.id}: {job.title}", job.total
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=err_console)
    with progress:
        bar = progress.add_task(title, total=total or None)
        while True:
            with db_session() as session:
                job = service.get(session, job_id)
                state, done = job.state, job.done
            progress.update(bar, completed=done)
            ended = while_alive is not None and not while_alive.is_alive()
            if state not in OPEN or ended:
                break
            time.sleep(interval)
    _report(job_id)


def _report(job_id: int) -> None:
    from bastion.jobs import service

    with db_session() as session:
        job = service.get(session, job_id)
        figures = service.summary(session, job)
        line = ", ".join(f"{value} {key.replace('_', ' ')}" for key, value in sorted(figures.items()))
        console.print(f"Job {job.id} ({job.kind}) is {job.state}: {job.done} of {job.total} done"
                      f"{'; ' + line if line else ''}.")
        if job.state in ("queued", "running") and not get_settings().broker_url:
            err_console.print(f"{job.chunks_total - job.chunks_done} chunks are not done; "
                              f"run `bastion jobs resume {job.id}` to finish them.")


@jobs_app.command("list")
@friendly_errors
def jobs_list(kind: str = typer.Option("", help="Only rescan or import jobs."),
              limit: int = typer.Option(20, min=1, max=500)) -> None:
    """The newest jobs with their progress."""
    from bastion.jobs import service

    table = Table("id", "kind", "what", "state", "done", "started by", "created")
    with db_session() as session:
        for job in service.page(session, kind=kind, limit=limit).rows:
            table.add_row(str(job.id), job.kind, job.title, job.state, f"{job.done}/{job.total}", job.created_by,
                          f"{job.created_at:%Y-%m-%d %H:%M} UTC")
    console.print(table)


@jobs_app.command("follow")
@friendly_errors
def jobs_follow(job_id: int) -> None:
    """Follow a job with a progress bar until it is done or cancelled."""
    follow(job_id)


@jobs_app.command("cancel")
@friendly_errors
def jobs_cancel(job_id: int) -> None:
    """Cancel a job: chunks not yet started are skipped; one already running finishes."""
    from bastion.jobs import service

    with db_session() as session:
        job = service.cancel(session, job_id, actor=actor(), clock=clock)
        session.commit()
        console.print(f"Job {job.id} cancelled at {job.done} of {job.total}.")


@jobs_app.command("resume")
@friendly_errors
def jobs_resume(job_id: int, detach: bool = typer.Option(False, "--detach", help="Queue it and return.")) -> None:
    """Send a job's unfinished chunks again (after a crash); finished chunks are never run twice."""
    from bastion.jobs import service

    with db_session() as session:
        job, messages = service.resume(session, job_id, actor=actor(), clock=clock)
        kind = job.kind
        session.commit()
    run_job(job_id, messages, services=services_for(kind), detach=detach)


def services_for(kind: str) -> dict[str, Any]:
    """What a chunk task needs when this process runs it: a rescan needs the scanner."""
    if kind != "rescan" or get_settings().broker_url:
        return {}
    from bastion.jobs.tasks import SCANNER
    from bastion.web.app import build_detection

    return {SCANNER: build_detection(get_settings(), _sessions(), clock)[1]}
