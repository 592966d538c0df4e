"""Finding exchanges: by the start of the name and by how the last fetch went, A to Z, a keyset page at a time.

Exchange names follow the bank name rule (upper case), so a search is upper-cased and read as a prefix
range of the unique name index: case-insensitive without a function index, and never a table scan.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.db import keyset
from bastion.errors import InvalidInput
from bastion.exchanges.models import Exchange

#: What the page calls each fetch status (and "paused", which is a flag, not a status).
STATE_TITLES = {"idle": "Waiting for its next fetch", "running": "Fetching", "ok": "Working",
                "error": "Failing", "auth_failed": "Credentials refused", "paused": "Paused"}


def state_of(exchange: Exchange) -> str:
    """The state the page shows: paused above all, else the last fetch's status."""
    return "paused" if exchange.paused else exchange.status


def exchanges_page(session: Session, *, name: str = "", state: str = "", cursor: str | None = None,
                   limit: int | None = None) -> keyset.Page[Exchange]:
    """Exchanges matching every filter given, by name."""
    size = keyset.page_size(limit)
    query = select(Exchange)
    start = keyset.prefix(name, "exchange name", 255).upper()
    if start:
        query = query.where(Exchange.name >= start, Exchange.name.like(keyset.like_prefix(start), escape="\\"))
    if state:
        if state not in STATE_TITLES:
            raise InvalidInput(f"There is no exchange state {state!r}; pick one from the list.")
        query = query.where(Exchange.paused.is_(True)) if state == "paused" else query.where(
            Exchange.paused.is_(False), Exchange.status == state)
    after = keyset.after_text(cursor)
    if after is not None:
        query = query.where(Exchange.name > after)
    rows = list(session.scalars(query.order_by(Exchange.name).limit(size + 1)))
    return keyset.cut(rows, size, lambda exchange: [exchange.name])
