"""The demo's hash exchange: a URL-list stand-in beside ``bastion serve --demo`` and the exchange that reads it.

So the exchanges page is not empty on a first ``make run``, the demo serves a small
hash list (random benign PDQ values, the same on every start, so its ETag is stable and
a restart fetches nothing new) behind a bearer token, and configures one exchange that
feeds it into its own bank. The exchange is configured like any other (through
``exchanges.service.add_exchange``, its token sealed with the instance secret) and only
once: a second ``make run`` finds it and changes nothing. Its first fetch is due at once,
so the server's ticker runs it within seconds of starting.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.clock import Clock
from bastion.dev.exchanges import UrlListStandin
from bastion.exchanges import service
from bastion.exchanges.models import Exchange
from bastion.scanning.urlfetch import FetchPolicy

DEMO_EXCHANGE = "DEMO_HASH_LIST"
DEMO_EXCHANGE_BANK = "DEMO_EXCHANGE_HASHES"
DEMO_LIST_NAME = "demo-hashes"
#: The bearer token the loopback stand-in accepts; Bastion stores it sealed, as it would a real list's.
DEMO_LIST_TOKEN = "bastion-demo-list-token"
DEMO_LIST_SIZE = 20
FETCH_EVERY_MINUTES = 60


def demo_hashes() -> list[str]:
    """The list's PDQ values: random hex from a fixed seed (never a hash of any real picture)."""
    rng = random.Random(18)
    return [f"{rng.getrandbits(256):064x}" for _ in range(DEMO_LIST_SIZE)]


def start_list_standin(clock: Callable[[], datetime], *, port: int) -> tuple[UrlListStandin, str]:
    """Start the URL-list stand-in serving the demo list; returns the running server and the list's URL."""
    server = UrlListStandin(clock=clock, port=port).start()
    url = server.publish(DEMO_LIST_NAME, "".join(f"pdq {value}\n" for value in demo_hashes()), auth="bearer",
                         secret=DEMO_LIST_TOKEN)
    return server, url


def ensure_demo_exchange(sessions: sessionmaker[Session], *, url: str, clock: Clock, secret: bytes,
                         policy: FetchPolicy) -> bool:
    """Configure the demo exchange (and its bank) unless it exists; True when this call created it."""
    with sessions() as session:
        if session.scalar(select(Exchange.id).where(Exchange.name == DEMO_EXCHANGE)) is not None:
            return False
        service.add_exchange(session, name=DEMO_EXCHANGE, api="url_list",
                             settings={"url": url, "format": "te", "auth": "bearer"}, bank_names=[DEMO_EXCHANGE_BANK],
                             credentials={"token": DEMO_LIST_TOKEN}, fetch_every_minutes=FETCH_EVERY_MINUTES,
                             actor="demo", clock=clock, secret=secret, policy=policy, create_banks=True)
        session.commit()
    return True
