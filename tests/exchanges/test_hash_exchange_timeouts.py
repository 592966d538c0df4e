"""NCMEC, StopNCII and TCAP against a server that takes the connection and never answers.

Each exchange first fetches from its stand-in (records banked, a checkpoint stored); then its
base URL points at the silent server (`SilentServer`, in conftest). The next fetch ends as
`error` with an `ExchangeTimedOut` message that names the host and says what to do, and leaves
the checkpoint and the banked records as they were. Share-back to a silent server raises
`ExchangeTimedOut`, which the outbox retries. No test measures elapsed time: a client that
ignored the timeout would hang here instead of failing.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.banks import service as banks
from bastion.banks.models import EntrySignal
from bastion.clock import ManualClock
from bastion.dev.tcap import TcapStandin
from bastion.exchanges import ncmec_hashes, service
from bastion.exchanges.errors import ExchangeTimedOut
from bastion.exchanges.fetch import run_fetch
from bastion.exchanges.models import Exchange
from bastion.exchanges.senders import Outgoing, permanent, send
from bastion.scanning.urlfetch import FetchPolicy
from tests.exchanges.conftest import (
    LOOPBACK,
    NCMEC_PASSWORD,
    NCMEC_USER,
    SECRET,
    STOPNCII_KEYS,
    SilentServer,
    pdq_values,
)

#: Loopback allowed and a one-second budget: the library's own default would hold each call for 60.
SHORT = FetchPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),), timeout_seconds=1.0)
TCAP_USER, TCAP_PASSWORD = "tcap-user", "tcap-password-5e1a"


@dataclass
class Feed:
    """One exchange type's stand-in, seeded with `values`, and how Bastion reaches it."""

    api: str
    settings: dict[str, Any]
    credentials: dict[str, str]
    values: list[str]
    label: str


def _ncmec(request: pytest.FixtureRequest, clock: ManualClock, values: list[str]) -> Feed:
    server = request.getfixturevalue("ncmec")
    for n, value in enumerate(values):
        server.put(f"e{n}", {"pdq": value}, at=clock.now() - timedelta(hours=1))
    return Feed("ncmec", {"environment": "test_Industry", "base_url": server.base_url},
                {"user": NCMEC_USER, "password": NCMEC_PASSWORD}, values, "NCMEC hash sharing")


def _stopncii(request: pytest.FixtureRequest, clock: ManualClock, values: list[str]) -> Feed:
    server = request.getfixturevalue("stop_ncii")
    for n, value in enumerate(values):
        server.put(value, at=clock.now() - timedelta(hours=1, seconds=-n))
    return Feed("stop_ncii", {"base_url": server.base_url}, dict(STOPNCII_KEYS), values, "StopNCII")


def _tcap(request: pytest.FixtureRequest, clock: ManualClock, values: list[str]) -> Feed:
    server = TcapStandin(TCAP_USER, TCAP_PASSWORD, clock=clock.now, page_size=40).__enter__()
    request.addfinalizer(lambda: server.__exit__(None, None, None))
    for n, value in enumerate(values):
        server.put(value, at=clock.now() - timedelta(hours=1, seconds=-n))
    return Feed("tat", {"base_url": server.base_url}, {"user": TCAP_USER, "password": TCAP_PASSWORD}, values,
                "TCAP")


FEEDS: dict[str, Callable[[pytest.FixtureRequest, ManualClock, list[str]], Feed]] = {
    "ncmec": _ncmec, "stop_ncii": _stopncii, "tat": _tcap}


@pytest.fixture(params=sorted(FEEDS))
def feed(request: pytest.FixtureRequest, clock: ManualClock) -> Feed:
    return FEEDS[request.param](request, clock, pdq_values(6, seed=91))


def banked(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        bank_id = banks.get_bank(session, "SHARED").id
        return sorted(session.scalars(select(EntrySignal.value).where(EntrySignal.bank_id == bank_id)))


def add(sessions: sessionmaker[Session], clock: ManualClock, feed: Feed) -> int:
    with sessions() as session:
        banks.create_bank(session, name="SHARED", actor="test", clock=clock)
        exchange = service.add_exchange(
            session, name="FEED", api=feed.api, settings=feed.settings, bank_names=["SHARED"],
            credentials=feed.credentials, fetch_every_minutes=30, actor="admin", clock=clock, secret=SECRET,
            policy=LOOPBACK)
        session.commit()
        return exchange.id


def point_at(sessions: sessionmaker[Session], exchange_id: int, base_url: str) -> str:
    """The exchange's host goes silent: its base URL now leads to the silent server. Returns the checkpoint."""
    with sessions() as session:
        exchange = session.get(Exchange, exchange_id)
        assert exchange is not None
        exchange.config_json = json.dumps({**json.loads(exchange.config_json), "base_url": base_url})
        session.commit()
        return exchange.checkpoint_json


def assert_names_only_the_host(message: str, label: str, silent: SilentServer, credentials: dict[str, str]) -> None:
    assert message.startswith(f"{label} at {silent.origin} did not answer within 1 seconds.")
    assert "base URL" in message and "fetch again" in message
    assert silent.origin + "/" not in message  # no path, no query
    for secret in credentials.values():
        assert secret not in message


def test_a_fetch_from_an_exchange_gone_silent_ends_as_an_error_and_keeps_what_was_fetched(
        sessions: sessionmaker[Session], clock: ManualClock, feed: Feed, silent: SilentServer) -> None:
    exchange_id = add(sessions, clock, feed)
    first = run_fetch(sessions, exchange_id, clock=clock, secret=SECRET, policy=SHORT)
    assert first.status == "ok", first.error
    assert banked(sessions) == sorted(feed.values)
    checkpoint = point_at(sessions, exchange_id, silent.origin)
    assert checkpoint

    clock.advance(timedelta(minutes=31))
    report = run_fetch(sessions, exchange_id, clock=clock, secret=SECRET, policy=SHORT)

    assert report.status == "error" and report.pages == 0
    assert_names_only_the_host(report.error, feed.label, silent, feed.credentials)
    assert silent.accepted == 1  # it reached the server, which said nothing; and was not asked again and again
    with sessions() as session:
        exchange = session.get(Exchange, exchange_id)
        assert exchange is not None
        assert exchange.status == "error" and exchange.last_succeeded is False
        assert exchange.last_error == report.error
        assert exchange.checkpoint_json == checkpoint  # the next fetch resumes where the last good one ended
    assert banked(sessions) == sorted(feed.values)


SHARE_BACK = {
    "ncmec": ({"environment": "test_Industry"}, {"user": NCMEC_USER, "password": NCMEC_PASSWORD},
              {"member_id": 7, "entry_id": "e0"}, "NCMEC hash sharing"),
    "stop_ncii": ({}, dict(STOPNCII_KEYS), {}, "StopNCII"),
}


@pytest.mark.parametrize("kind", ["confirmed", "false_positive"])
@pytest.mark.parametrize("api", sorted(SHARE_BACK))
def test_share_back_to_a_silent_exchange_fails_with_a_timeout_that_may_be_retried(
        silent: SilentServer, api: str, kind: str) -> None:
    settings, credentials, payload, label = SHARE_BACK[api]
    item = Outgoing(id=1, exchange_id=1, kind=kind, upstream_id="7-e0", signal_type="pdq",
                    value=pdq_values(1, seed=92)[0], payload=payload)
    with pytest.raises(ExchangeTimedOut) as caught:
        send(api, {**settings, "base_url": silent.origin}, credentials, SHORT, item)
    assert caught.value.code == "exchange_timed_out" and caught.value.status == 504
    assert_names_only_the_host(caught.value.message, label, silent, credentials)
    assert silent.accepted == 1
    assert not permanent(caught.value)  # a hung server may answer later: the outbox tries again


def test_a_timeout_message_leaves_out_credentials_written_into_the_base_url(silent: SilentServer) -> None:
    host_port = silent.origin.removeprefix("http://")
    base_url = f"http://{NCMEC_USER}:{NCMEC_PASSWORD}@{host_port}/hashsharing?key=secret-in-query"
    client = ncmec_hashes.client(NCMEC_USER, NCMEC_PASSWORD, "test_Industry", base_url, SHORT.timeout_seconds)
    with pytest.raises(ExchangeTimedOut) as caught:
        client.status()
    message = caught.value.message
    assert message.startswith(f"NCMEC hash sharing at {silent.origin} did not answer")
    assert NCMEC_USER not in message and NCMEC_PASSWORD not in message
    assert "secret-in-query" not in message and "/hashsharing" not in message
