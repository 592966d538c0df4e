"""`bastion reports build`: a report of a kind for a period, written to stdout (a published one: its frozen bytes)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from bastion.cli.common import clock, console, db_session, err_console, friendly_errors
from bastion.reports.build import check_format
from bastion.reports.period import check_kind, parse_period
from bastion.reports.versions import current

reports_app = typer.Typer(help="Transparency and compliance reports, computed from Bastion's records.",
                          no_args_is_help=True)


@reports_app.command("build")
@friendly_errors
def build_command(kind: Annotated[str, typer.Option(help="india-monthly, le-transparency or dsa-transparency")],
                  period: Annotated[str, typer.Option(help="2026-11 or 2026-H2")],
                  format: Annotated[str, typer.Option("--format", help="csv, json or pdf")] = "json") -> None:
    check_kind(kind)
    parse_period(period)  # bad input fails before touching the database
    check_format(format)
    with db_session() as session:
        body, _version = current(session, kind, period, format, clock.now())
        sys.stdout.buffer.write(body)


@reports_app.command("rollup")
@friendly_errors
def rollup_command() -> None:
    """Count the daily detection totals for every closed day not counted yet (the timer does this daily).

    Run it once after importing a history of scans, so the first report over it reads totals, not scans.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from bastion.reports import rollup

    with db_session() as session, Progress(TextColumn("rolling up days"), BarColumn(), MofNCompleteColumn(),
                                           console=err_console) as bar:
        task = bar.add_task("days", total=None)
        days = rollup.roll(session, clock, progress=lambda done, total: bar.update(task, completed=done, total=total))
        reached = rollup.state(session, clock.now()).rolled_until
    reach = f"every day before {reached.isoformat()}" if reached else "no day yet (there are no scans)"
    console.print(f"Counted {days} day(s); the daily totals now cover {reach}.")
