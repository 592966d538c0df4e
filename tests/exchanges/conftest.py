"""Fixtures: exchange stand-ins on real loopback sockets, a fetch policy that lets Bastion reach them.

Every hash here is random hex made by the test (`pdq_values`), never a hash of real media.
"""

from __future__ import annotations

import ipaddress
import os
import random
import socket
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bastion.banks import service as banks
from bastion.clock import ManualClock
from bastion.dev.exchanges import NcmecHashStandin, UrlListStandin
from bastion.dev.stopncii import StopNCIIStandin
from bastion.dev.threatexchange import ThreatExchangeStandin
from bastion.scanning.urlfetch import FetchPolicy

SECRET = b"exchange-test-instance-secret"
#: Loopback is private: only a policy that allows it by name lets Bastion reach the stand-ins.
LOOPBACK = FetchPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))


def pdq_values(count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.getrandbits(256):064x}" for _ in range(count)]


def md5_values(count: int, seed: int = 2) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.getrandbits(128):032x}" for _ in range(count)]


@pytest.fixture
def url_lists(clock: ManualClock) -> Iterator[UrlListStandin]:
    with UrlListStandin(clock=clock.now) as server:
        yield server


@pytest.fixture
def bank(sessions: sessionmaker[Session], clock: ManualClock) -> str:
    with sessions() as session:
        banks.create_bank(session, name="SHARED_LIST", actor="test", clock=clock)
        session.commit()
    return "SHARED_LIST"


NCMEC_USER, NCMEC_PASSWORD = "esp-test-user", "ncmec-hash-password-31f0"


class _LibraryTime:
    """What python-threatexchange's NCMEC modules see as `time`: the test's clock (they read `time.time()`)."""

    def __init__(self, clock: ManualClock) -> None:
        self._clock = clock

    def time(self) -> float:
        return self._clock.now().timestamp()


@pytest.fixture
def ncmec(clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> Iterator["NcmecHashStandin"]:
    """The hash-sharing stand-in; the library's fetch windows follow the same clock as the stand-in."""
    import time

    from threatexchange.exchanges.clients.ncmec import hash_api
    from threatexchange.exchanges.impl import ncmec_api

    from bastion.dev.exchanges import NcmecHashStandin

    previous = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"  # the library formats its window bounds in local time, labelled Z
    time.tzset()
    monkeypatch.setattr(ncmec_api, "time", _LibraryTime(clock))
    monkeypatch.setattr(hash_api, "time", _LibraryTime(clock))
    try:
        with NcmecHashStandin(NCMEC_USER, NCMEC_PASSWORD, clock=clock.now, page_size=5) as server:
            yield server
    finally:
        if previous is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = previous
        time.tzset()


STOPNCII_KEYS = {"subscription_key": "stopncii-sub-4c1d", "fetch_key": "stopncii-fetch-77a2",
                 "feedback_key": "stopncii-feedback-0b9e"}
TE_TOKEN = "1234567890|te-stand-in-secret-abcdefghij"
TE_GROUP = 303030


@pytest.fixture
def stop_ncii(clock: ManualClock) -> Iterator["StopNCIIStandin"]:
    from bastion.dev.stopncii import StopNCIIStandin

    with StopNCIIStandin(STOPNCII_KEYS["subscription_key"], STOPNCII_KEYS["fetch_key"],
                         STOPNCII_KEYS["feedback_key"], clock=clock.now) as server:
        yield server


@pytest.fixture
def threatexchange(clock: ManualClock) -> Iterator["ThreatExchangeStandin"]:
    from bastion.dev.threatexchange import ThreatExchangeStandin

    with ThreatExchangeStandin(TE_TOKEN, TE_GROUP, clock=clock.now) as server:
        yield server


class SilentServer:
    """Accepts every connection and holds it, never answering: a hung upstream."""

    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.05)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self.accepted = 0
        #: scheme, host and port: all an error message may name
        self.origin = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.base_url = f"{self.origin}/v26.0"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:  # the accept timeout: look at the stop flag again
                continue
            self._held.append(conn)
            self.accepted += 1

    def __enter__(self) -> "SilentServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self._listener.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    with SilentServer() as server:
        yield server
