"""`bastion reports build`: a report of a kind for a period, written to stdout."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from bastion.cli.common import clock, db_session, friendly_errors
from bastion.reports.build import FORMATS, figures, render
from bastion.reports.period import BadReportRequest, check_kind, parse_period

reports_app = typer.Typer(help="Transparency and compliance reports, computed from Bastion's records.",
                          no_args_is_help=True)


@reports_app.command("build")
@friendly_errors
def build_command(kind: Annotated[str, typer.Option(help="india-monthly or le-transparency")],
                  period: Annotated[str, typer.Option(help="2026-11 or 2026-H2")],
                  format: Annotated[str, typer.Option("--format", help="csv or json")] = "json") -> None:
    check_kind(kind)
    parse_period(period)  # bad input fails before touching the database
    if format not in FORMATS:
        raise BadReportRequest(f"Unknown format {format!r}; valid formats: {', '.join(FORMATS)}.")
    with db_session() as session:
        sys.stdout.buffer.write(render(figures(session, kind, period, clock.now()), format))
