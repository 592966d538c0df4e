"""The DSA Transparency Database stand-in, served over real HTTP, and a client pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bastion.dev.dsa_tdb import DsaStandinServer
from bastion.dsa.client import TransparencyDatabase

TOKEN = "X|test-token-for-the-stand-in"


@pytest.fixture
def tdb() -> Iterator[DsaStandinServer]:
    with DsaStandinServer(TOKEN) as server:
        yield server


@pytest.fixture
def tdb_client(tdb: DsaStandinServer) -> Iterator[TransparencyDatabase]:
    client = TransparencyDatabase(tdb.base_url, TOKEN)
    yield client
    client.close()
