"""`make run`'s demo exchange: `bastion serve --demo` configures it once, and its first fetch fills its bank.

The steps are the ones `serve --demo` takes: start the hash-list stand-in (which opens the
exchanges' SSRF guard to it), configure the exchange once the schema is current (twice,
as a second `make run` would), then let the timer ticker run what is due.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bastion.cli import dev as cli_dev
from bastion.clock import ManualClock
from bastion.config import Settings
from bastion.dev import launch
from bastion.dev.demo_exchange import DEMO_EXCHANGE, DEMO_EXCHANGE_BANK, DEMO_LIST_TOKEN, demo_hashes
from bastion.exchanges import service, tasks
from bastion.exchanges.models import Exchange
from bastion.exchanges.policy import fetch_policy
from bastion.exchanges.sealing import unseal
from bastion.executor import TaskContext
from bastion.timers import Ticker
from tests.exchanges.test_url_list import bank_values


def test_serve_demo_configures_the_exchange_once_and_its_first_tick_fills_the_demo_bank(
        settings: Settings, engine: Engine, sessions: sessionmaker[Session], clock: ManualClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(launch, "DEMO_LIST_PORT", 0)
    monkeypatch.setattr(cli_dev, "clock", clock)
    said: list[str] = []
    running = launch.DemoServices(settings)
    launch.start_exchange_standin(running, said.append)
    try:
        assert running.exchange_url and said and "127.0.0.1/32" in running.settings.exchange_allowed_networks
        cli_dev.configure_demo_exchange(running, engine)
        cli_dev.configure_demo_exchange(running, engine)  # a second `make run`
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Exchange)) == 1
            exchange = service.get_exchange(session, DEMO_EXCHANGE)
            assert DEMO_LIST_TOKEN.encode() not in exchange.credentials.encode()  # sealed, not stored as given
            assert unseal(exchange.credentials, settings.secret_key_bytes()) == {"token": DEMO_LIST_TOKEN}
            assert json.loads(exchange.config_json)["auth"] == "bearer"
            assert service.view(session, exchange).next_fetch_at == clock.now()  # due at once
        assert bank_values(sessions, DEMO_EXCHANGE_BANK) == {}

        ctx = TaskContext(sessions=sessions, clock=clock, services={})
        tasks.wire(ctx.services, settings.secret_key_bytes(), fetch_policy(running.settings))  # as the server does
        Ticker(ctx).tick()
        assert set(bank_values(sessions, DEMO_EXCHANGE_BANK)) == set(demo_hashes())
        with sessions() as session:
            shown = service.view(session, service.get_exchange(session, DEMO_EXCHANGE))
            assert (shown.status, shown.last_succeeded, shown.items_added, shown.live_items) == (
                "ok", True, len(demo_hashes()), len(demo_hashes()))
            assert shown.banks == [DEMO_EXCHANGE_BANK] and shown.next_fetch_at is not None
    finally:
        running.stop()


def test_without_the_demo_settings_the_ssrf_guard_keeps_the_exchange_off_loopback(
        settings: Settings, engine: Engine, sessions: sessionmaker[Session], clock: ManualClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in is reachable only because the demo opened the guard to it, not because loopback is allowed."""
    monkeypatch.setattr(launch, "DEMO_LIST_PORT", 0)
    monkeypatch.setattr(cli_dev, "clock", clock)
    running = launch.DemoServices(settings)
    launch.start_exchange_standin(running, lambda _: None)
    try:
        cli_dev.configure_demo_exchange(running, engine)
        ctx = TaskContext(sessions=sessions, clock=clock, services={})
        tasks.wire(ctx.services, settings.secret_key_bytes(), fetch_policy(settings))  # the settings before the demo
        Ticker(ctx).tick()
        assert bank_values(sessions, DEMO_EXCHANGE_BANK) == {}
        with sessions() as session:
            assert service.get_exchange(session, DEMO_EXCHANGE).status != "ok"
    finally:
        running.stop()
