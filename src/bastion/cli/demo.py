"""Development and demo commands: the first-run demo data and local stand-ins for outside services."""

from __future__ import annotations

import typer

from bastion.cli.common import clock, console, friendly_errors
from bastion.config import get_settings

dev_app = typer.Typer(help="Demo data and local stand-ins (NCMEC, a platform) for trying Bastion out.",
                      no_args_is_help=True)


@dev_app.command("seed-demo")
@friendly_errors
def seed_demo() -> None:
    """Create a demo bank of benign synthetic pictures, altered copies to scan, and scan them once."""
    from bastion.db import make_engine, make_sessionmaker
    from bastion.demo.seed import seed_demo as seed
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
    port: int = typer.Option(8010, help="Port."),
    username: str = typer.Option("bastion-test", help="Basic-auth user the stand-in accepts."),
    password: str = typer.Option("bastion-test-password", help="Basic-auth password the stand-in accepts."),
) -> None:
    """Serve a local stand-in for NCMEC's CyberTipline reporting API (for tests and demos)."""
    from bastion.ncmec.standin import serve_standin

    console.print(f"CyberTipline stand-in on http://{host}:{port}/ispws (user {username})")
    serve_standin(host, port, username, password)


@dev_app.command("platform")
def demo_platform(
    host: str = typer.Option("127.0.0.1", help="Bind address."),
    port: int = typer.Option(8020, help="Port."),
    secret: str = typer.Option(None, envvar="BASTION_PLATFORM_SECRET", help="Shared HMAC secret."),
) -> None:
    """Serve the demo platform (accounts, posts, logs) that Bastion's platform connector talks to."""
    from bastion.platform.demo import seed_demo_platform, serve_demo_platform

    settings = get_settings()
    path = settings.data_dir / "demo" / "platform.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    seed_demo_platform(path, seed=1)
    if not secret:
        raise typer.BadParameter("Set BASTION_PLATFORM_SECRET (or --secret) to the secret Bastion signs with.")
    console.print(f"Demo platform on http://{host}:{port}")
    serve_demo_platform(host, port, path, secret)


def start_demo_platform(settings):  # type: ignore[no-untyped-def]
    """Run the demo platform in this process and return settings that point Bastion at it.

    Its shared secret is generated once into the data folder, so restarts keep working.
    """
    import secrets as random_secrets

    from pydantic import SecretStr

    from bastion.platform.demo import BackgroundServer, create_demo_platform_app, seed_demo_platform

    folder = settings.data_dir / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    secret_file = folder / "platform.secret"
    if not secret_file.exists():
        secret_file.write_text(random_secrets.token_urlsafe(32))
        secret_file.chmod(0o600)
    secret = secret_file.read_text().strip()
    seed_demo_platform(folder / "platform.db")
    server = BackgroundServer(create_demo_platform_app(folder / "platform.db", secret), port=DEMO_PLATFORM_PORT)
    url = server.start()
    console.print(f"Demo platform on {url} (accounts, posts, logins: open it in a browser)")
    settings = settings.model_copy(update={"platform_url": url, "platform_secret": SecretStr(secret)})
    return _start_ncmec_standin(settings)


def _start_ncmec_standin(settings):  # type: ignore[no-untyped-def]
    """The CyberTipline stand-in, with Bastion's NCMEC client pointed at it (unless one is configured)."""
    from pydantic import SecretStr

    from bastion.ncmec.standin import StandinServer

    if settings.ncmec_username:
        return settings
    username, password = "bastion-demo", "bastion-demo-password"
    server = StandinServer(username, password, port=DEMO_NCMEC_PORT)
    server.start()
    console.print(f"CyberTipline stand-in on {server.base_url}")
    return settings.model_copy(update={"ncmec_username": username, "ncmec_password": SecretStr(password),
                                       "ncmec_environment": "test", "ncmec_base_url": server.base_url})


DEMO_PLATFORM_PORT = 8020
DEMO_NCMEC_PORT = 8010
