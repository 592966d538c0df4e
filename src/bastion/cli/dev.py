"""`bastion dev …`: the one way to start a stand-in or seed the demo (everything lives in `bastion.dev`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from bastion.cli.common import clock, console, friendly_errors
from bastion.config import Settings, get_settings
from bastion.dev.ports import PORTS

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from bastion.dev.launch import DemoServices

dev_app = typer.Typer(help="Demo data and local stand-ins (NCMEC, a platform) for trying Bastion out.",
                      no_args_is_help=True)


@dev_app.command("seed-demo")
@friendly_errors
def seed_demo() -> None:
    """Create a demo bank of benign synthetic pictures, altered copies to scan, and scan them once."""
    from bastion.db import make_engine, make_sessionmaker
    from bastion.dev.seed import seed_demo as seed
    from bastion.web.app import build_detection

    settings = get_settings()
    engine = make_engine(settings.effective_database_url)
    sessions = make_sessionmaker(engine)
    _, scanner = build_detection(settings, sessions, clock)
    report = seed(sessions, scanner, settings.data_dir / "demo" / "uploads", clock)
    engine.dispose()
    if report.created:
        console.print(f"Demo seeded: {report.uploads} uploads in {settings.data_dir / 'demo' / 'uploads'}, "
                      f"{report.matched} matched the demo bank. See Dashboard and Scans.")
    else:
        console.print("Demo data already present.")


@dev_app.command("ncmec")
def ncmec_standin(
    host: str = typer.Option("127.0.0.1", help="Bind address."),
    port: int = typer.Option(PORTS["cybertipline"], help="Port."),
    username: str = typer.Option("bastion-test", help="Basic-auth user the stand-in accepts."),
    password: str = typer.Option("bastion-test-password", help="Basic-auth password the stand-in accepts."),
) -> None:
    """Serve a local stand-in for NCMEC's CyberTipline reporting API (for tests and demos)."""
    from bastion.dev.ncmec import serve_standin

    console.print(f"CyberTipline stand-in on http://{host}:{port}/ispws (user {username})")
    serve_standin(host, port, username, password)


@dev_app.command("exchanges")
def exchange_standins(
    host: str = typer.Option("127.0.0.1", help="Bind address."),
    ncmec_port: int = typer.Option(PORTS["ncmec_hash_sharing"], help="Port of the NCMEC hash-sharing stand-in."),
    list_port: int = typer.Option(PORTS["url_list"], help="Port of the URL-list stand-in."),
    stopncii_port: int = typer.Option(PORTS["stopncii"], help="Port of the StopNCII stand-in."),
    te_port: int = typer.Option(PORTS["threatexchange"], help="Port of the ThreatExchange (Graph API) stand-in."),
    tcap_port: int = typer.Option(PORTS["tcap"], help="Port of the Tech Against Terrorism (TCAP) stand-in."),
    username: str = typer.Option("bastion-test", help="User the hash-sharing and TCAP stand-ins accept."),
    password: str = typer.Option("bastion-test-password", help="Basic-auth password it accepts."),
) -> None:
    """Serve local stand-ins for hash exchanges (NCMEC hash sharing, a URL list, StopNCII, ThreatExchange, TCAP),
    seeded with random hashes."""
    from bastion.dev.exchanges import serve_exchanges

    serve_exchanges(host, ncmec_port, list_port, username, password, console.print, stopncii_port=stopncii_port,
                    te_port=te_port, tcap_port=tcap_port)


@dev_app.command("dsa")
def dsa_standin(
    host: str = typer.Option("127.0.0.1", help="Bind address."),
    port: int = typer.Option(PORTS["dsa_tdb_standalone"], help="Port."),
    token: str = typer.Option("bastion-test-dsa-token", help="Bearer token the stand-in accepts."),
) -> None:
    """Serve a local stand-in for the DSA Transparency Database API (statements of reasons)."""
    from bastion.dev.dsa_tdb import serve_dsa_standin

    console.print(f"DSA Transparency Database stand-in on http://{host}:{port}/api/v1 "
                  "(set BASTION_DSA_TDB_URL to the host and BASTION_DSA_TDB_TOKEN to the token)")
    serve_dsa_standin(host, port, token)


@dev_app.command("platform")
def demo_platform(
    host: str = typer.Option("127.0.0.1", help="Bind address."),
    port: int = typer.Option(PORTS["platform"], help="Port."),
    secret: str = typer.Option(None, envvar="BASTION_PLATFORM_SECRET", help="Shared HMAC secret."),
    db: Path = typer.Option(None, help="SQLite file of the platform's accounts and posts (default: in the data "
                                       "folder); created and seeded if empty."),
    seed: int = typer.Option(1, help="Seed of the generated post images."),
) -> None:
    """Serve the demo platform (accounts, posts, logs) that Bastion's platform connector talks to."""
    from bastion.dev.platform import seed_demo_platform, serve_demo_platform

    if not secret:
        raise typer.BadParameter("Set BASTION_PLATFORM_SECRET (or --secret) to the secret Bastion signs with.")
    if db is None:
        db = get_settings().data_dir / "demo" / "platform.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    if seed_demo_platform(db, seed=seed):
        console.print(f"Seeded demo data into {db}")
    console.print(f"Demo platform on http://{host}:{port}")
    serve_demo_platform(host, port, db, secret)


def start_demo_services(settings: Settings) -> DemoServices:
    """Run every stand-in in this process (for `bastion serve --demo`); its settings point Bastion at them."""
    from bastion.dev.launch import start_demo_services as start

    return start(settings, console.print)


def configure_demo_exchange(running: DemoServices, engine: Engine) -> None:
    """Once the schema is current: configure the demo exchange (first run only); its first fetch is due at once."""
    from bastion.db import make_sessionmaker
    from bastion.dev.demo_exchange import DEMO_EXCHANGE, DEMO_EXCHANGE_BANK, ensure_demo_exchange
    from bastion.exchanges.policy import fetch_policy

    settings = running.settings
    if ensure_demo_exchange(make_sessionmaker(engine), url=running.exchange_url, clock=clock,
                            secret=settings.secret_key_bytes(), policy=fetch_policy(settings)):
        console.print(f"Demo exchange {DEMO_EXCHANGE} configured; its first fetch fills the bank "
                      f"{DEMO_EXCHANGE_BANK} within seconds (see Exchanges).")
