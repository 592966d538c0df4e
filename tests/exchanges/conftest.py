"""Fixtures: exchange stand-ins on real loopback sockets, a fetch policy that lets Bastion reach them.

Every hash here is random hex made by the test (`pdq_values`), never a hash of real media.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bastion.banks import service as banks
from bastion.clock import ManualClock
from bastion.dev.exchanges import UrlListStandin
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
