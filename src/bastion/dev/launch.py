"""Starting the stand-ins behind ``bastion serve --demo`` and pointing Bastion's settings at them.

Each starter runs one stand-in in this process on a background thread and
returns settings that name it, so the rest of Bastion talks to it through the
same client code it uses for the real service. A new stand-in (an exchange,
the DSA database) adds one starter to :data:`STARTERS`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from bastion.config import Settings
from bastion.dev.demo_exchange import start_list_standin
from bastion.dev.dsa_tdb import DsaStandinServer
from bastion.dev.ncmec import StandinServer
from bastion.dev.platform import create_demo_platform_app, seed_demo_platform
from bastion.dev.ports import PORTS
from bastion.dev.serving import BackgroundServer

__all__ = ["DEMO_DSA_PORT", "DEMO_LIST_PORT", "DEMO_NCMEC_PORT", "DEMO_PLATFORM_PORT", "STARTERS", "DemoServices", "start_demo_services"]

DEMO_PLATFORM_PORT = PORTS["platform"]
DEMO_NCMEC_PORT = PORTS["cybertipline"]
#: Credentials of the in-process CyberTipline stand-in (it listens on loopback only).
DEMO_NCMEC_USERNAME, DEMO_NCMEC_PASSWORD = "bastion-demo", "bastion-demo-password"
DEMO_DSA_PORT = PORTS["dsa_tdb"]
#: Token of the in-process DSA Transparency Database stand-in (loopback only).
DEMO_DSA_TOKEN = "bastion-demo-dsa-token"
#: The URL-list stand-in that the demo exchange fetches from (`bastion.dev.demo_exchange`).
DEMO_LIST_PORT = PORTS["demo_list"]

Say = Callable[[str], None]


@dataclass
class DemoServices:
    """The settings that point Bastion at the running stand-ins, and the servers to stop."""

    settings: Settings
    servers: list[BackgroundServer] = field(default_factory=list)
    #: the demo hash list's URL, for `demo_exchange.ensure_demo_exchange` once the database is ready
    exchange_url: str = ""

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()


Starter = Callable[[DemoServices, Say], None]


def demo_folder(settings: Settings) -> Path:
    folder = settings.data_dir / "demo"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def start_demo_platform(running: DemoServices, say: Say) -> None:
    """Run the demo platform and connect Bastion's platform connector to it.

    Its shared secret is generated once into the data folder, so restarts keep working.
    """
    folder = demo_folder(running.settings)
    secret_file = folder / "platform.secret"
    if not secret_file.exists():
        secret_file.write_text(secrets.token_urlsafe(32))
        secret_file.chmod(0o600)
    secret = secret_file.read_text().strip()
    seed_demo_platform(folder / "platform.db")
    server = BackgroundServer(create_demo_platform_app(folder / "platform.db", secret), port=DEMO_PLATFORM_PORT)
    running.servers.append(server.start())
    say(f"Demo platform on {server.base_url} (accounts, posts, logins: open it in a browser)")
    running.settings = running.settings.model_copy(
        update={"platform_url": server.base_url, "platform_secret": SecretStr(secret)})


def start_ncmec_standin(running: DemoServices, say: Say) -> None:
    """The CyberTipline stand-in, with Bastion's NCMEC client pointed at it (unless one is configured)."""
    if running.settings.ncmec_username:
        return
    server = StandinServer(DEMO_NCMEC_USERNAME, DEMO_NCMEC_PASSWORD, port=DEMO_NCMEC_PORT)
    running.servers.append(server.start())
    say(f"CyberTipline stand-in on {server.base_url}")
    running.settings = running.settings.model_copy(update={
        "ncmec_username": DEMO_NCMEC_USERNAME, "ncmec_password": SecretStr(DEMO_NCMEC_PASSWORD),
        "ncmec_environment": "test", "ncmec_base_url": server.base_url,
    })


def start_dsa_standin(running: DemoServices, say: Say) -> None:
    """The DSA Transparency Database stand-in, with Bastion's statements sent to it (unless one is configured)."""
    if running.settings.dsa_tdb_url:
        return
    server = DsaStandinServer(DEMO_DSA_TOKEN, port=DEMO_DSA_PORT)
    running.servers.append(server.start())
    say(f"DSA Transparency Database stand-in on {server.base_url}")
    running.settings = running.settings.model_copy(update={
        "dsa_tdb_url": server.base_url, "dsa_tdb_token": SecretStr(DEMO_DSA_TOKEN)})


def _with(items: str, item: str) -> str:
    """A comma-separated setting with `item` added (an empty one stays empty: empty allows every public host)."""
    parts = [p.strip() for p in items.split(",") if p.strip()]
    return ",".join(parts if item in parts else [*parts, item])


def start_exchange_standin(running: DemoServices, say: Say) -> None:
    """The URL-list stand-in the demo exchange reads, with the exchanges' SSRF guard opened to it (loopback only)."""
    server, url = start_list_standin(lambda: datetime.now(UTC), port=DEMO_LIST_PORT)
    running.servers.append(server)
    running.exchange_url = url
    say(f"Hash list stand-in on {server.base_url} (the demo exchange {url} fetches from it)")
    settings = running.settings
    update = {"exchange_allowed_networks": _with(settings.exchange_allowed_networks, "127.0.0.1/32")}
    if settings.exchange_allowed_hosts.strip():
        update["exchange_allowed_hosts"] = _with(settings.exchange_allowed_hosts, "127.0.0.1")
    running.settings = settings.model_copy(update=update)


#: What ``bastion serve --demo`` starts, in order.
STARTERS: tuple[Starter, ...] = (start_demo_platform, start_ncmec_standin, start_dsa_standin, start_exchange_standin)


def start_demo_services(settings: Settings, say: Say) -> DemoServices:
    """Start every stand-in; the result's settings point Bastion at each of them."""
    running = DemoServices(settings)
    try:
        for start in STARTERS:
            start(running, say)
    except BaseException:
        running.stop()
        raise
    return running
