"""`bastion`: the command-line entry point."""

from __future__ import annotations

import typer

from bastion.cli import admin, detect, dev, worker
from bastion.cli.common import console, friendly_errors
from bastion.cli.evidence import evidence_app
from bastion.cli.exchanges import exchanges_app
from bastion.cli.jobs import jobs_app
from bastion.cli.production import production_app
from bastion.cli.reports import reports_app
from bastion.config import get_settings

app = typer.Typer(
    name="bastion",
    help="Bastion: detect, review, preserve, report and answer law enforcement. Settings come from BASTION_* "
    "environment variables (see `bastion config show`).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(admin.db_app, name="db")
app.add_typer(admin.users_app, name="users")
app.add_typer(admin.keys_app, name="apikeys")
app.add_typer(admin.audit_app, name="audit")
app.add_typer(admin.config_app, name="config")
app.add_typer(detect.banks_app, name="banks")
app.add_typer(dev.dev_app, name="dev")
app.add_typer(evidence_app, name="evidence")
app.add_typer(exchanges_app, name="exchanges")
app.add_typer(jobs_app, name="jobs")
app.add_typer(production_app, name="production")
app.add_typer(reports_app, name="reports")
app.command("hash")(detect.hash_command)
app.command("scan")(detect.scan_command)
app.command("rescan")(detect.rescan_command)
app.command("worker")(worker.worker_command)


@app.command()
@friendly_errors
def init() -> None:
    """Prepare a fresh instance: apply migrations and create the first admin."""
    admin.upgrade_database()
    admin.ensure_admin()
    console.print("Ready.")


@app.command()
@friendly_errors
def serve(
    host: str = typer.Option(None, help="Bind address (default from BASTION_HOST)."),
    port: int = typer.Option(None, help="Port (default from BASTION_PORT)."),
    demo: bool = typer.Option(False, "--demo",
                              help="Also run the stand-ins (demo platform, CyberTipline, DSA database, a hash list) and "
                                   "connect Bastion to them."),
) -> None:
    """Serve the web interface and API, with in-process workers and the timer ticker."""
    import uvicorn

    from bastion import logs
    from bastion.db import make_engine, migrate
    from bastion.db.engine import check_reachable
    from bastion.web.app import create_app

    settings = get_settings()
    running = dev.start_demo_services(settings) if demo else None
    if running is not None:
        settings = running.settings
    logs.configure(settings.log_level, settings.log_json)
    engine = make_engine(settings.effective_database_url)
    check_reachable(engine)
    if not migrate.is_current(engine):
        console.print("[red]The database schema is not current. Run `bastion db upgrade` first.[/red]")
        raise typer.Exit(2)
    if running is not None:
        dev.configure_demo_exchange(running, engine)
    application = create_app(settings, engine=engine, background=True)
    console.print(f"Bastion is serving on http://{host or settings.host}:{port or settings.port}")
    # Client addresses feed the login throttle: believe X-Forwarded-For only from the configured proxies.
    proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    uvicorn.run(application, host=host or settings.host, port=port or settings.port, log_config=None,
                proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None)


if __name__ == "__main__":
    app()
