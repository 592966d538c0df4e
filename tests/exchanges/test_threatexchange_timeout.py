"""ThreatExchange against a server that takes the connection and never answers: the fetch and the
share-back calls fail with `ExchangeTimedOut` (a message that says what to do) instead of hanging.

The silent server (`SilentServer`, in conftest) is a listening socket on loopback whose thread accepts
connections and holds them open without reading or writing a byte. Nothing here measures elapsed time.
"""

from __future__ import annotations

import ipaddress

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bastion.banks import service as banks
from bastion.clock import ManualClock
from bastion.exchanges import service, te_graph
from bastion.exchanges.errors import ExchangeTimedOut
from bastion.exchanges.fetch import run_fetch
from bastion.exchanges.models import Exchange
from bastion.exchanges.senders import Outgoing, permanent, send
from bastion.scanning.urlfetch import FetchPolicy
from tests.exchanges.conftest import SECRET, TE_GROUP, TE_TOKEN, SilentServer

#: Loopback allowed, and a short wait: the silent server would otherwise hold each call for the default.
SHORT = FetchPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),), timeout_seconds=0.3)


def _assert_says_what_to_do(exc: ExchangeTimedOut, server: SilentServer) -> None:
    assert exc.code == "exchange_timed_out"
    assert "did not answer within 0.3 seconds" in exc.message
    assert "base URL" in exc.message and "fetch again" in exc.message
    assert server.base_url.split("/v26.0")[0] in exc.message
    assert TE_TOKEN not in exc.message and "access_token" not in exc.message


def test_a_fetch_from_a_silent_threatexchange_fails_with_a_timeout_and_is_recorded_as_failed(
        sessions: sessionmaker[Session], clock: ManualClock, silent: SilentServer) -> None:
    with sessions() as session:
        banks.create_bank(session, name="SHARED", actor="test", clock=clock)
        exchange_id = service.add_exchange(
            session, name="SILENT_TE", api="fb_threatexchange",
            settings={"privacy_group": TE_GROUP, "base_url": silent.base_url}, bank_names=["SHARED"],
            credentials={"token": TE_TOKEN}, fetch_every_minutes=30, actor="admin", clock=clock, secret=SECRET,
            policy=SHORT).id
        session.commit()

    report = run_fetch(sessions, exchange_id, clock=clock, secret=SECRET, policy=SHORT)

    assert report.status == "error" and report.pages == 0
    assert "did not answer within 0.3 seconds" in report.error and "fetch again" in report.error
    assert TE_TOKEN not in report.error
    assert silent.accepted >= 1  # it did reach the server, which then said nothing
    with sessions() as session:
        exchange = session.get(Exchange, exchange_id)
        assert exchange is not None
        assert exchange.status == "error" and exchange.last_succeeded is False
        assert exchange.last_error == report.error


def test_the_client_read_raises_the_typed_error(silent: SilentServer) -> None:
    api = te_graph.exchange("SILENT_TE", TE_GROUP, TE_TOKEN, silent.base_url, SHORT.timeout_seconds)
    with pytest.raises(ExchangeTimedOut) as caught:
        api.client.get_threat_updates(TE_GROUP, page_size=100).next()
    _assert_says_what_to_do(caught.value, silent)


@pytest.mark.parametrize("kind", ["confirmed", "false_positive", "new_material"])
def test_share_back_to_a_silent_threatexchange_fails_with_a_timeout_that_may_be_retried(
        silent: SilentServer, kind: str) -> None:
    item = Outgoing(id=1, exchange_id=1, kind=kind, upstream_id="42", signal_type="pdq", value="ab" * 32,
                    payload={"descriptors": [4242]})
    with pytest.raises(ExchangeTimedOut) as caught:
        send("fb_threatexchange", {"privacy_group": TE_GROUP, "base_url": silent.base_url}, {"token": TE_TOKEN},
             SHORT, item)
    _assert_says_what_to_do(caught.value, silent)
    assert not permanent(caught.value)  # a hung server may answer later: the outbox tries again
