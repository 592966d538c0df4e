"""What people and the API do to exchanges: add, list, pause, resume, fetch now, set credentials, delete.

Every change is audited; no audit record, log line or return value carries a credential
(the audit records which credential fields were set, never their values). Credentials
are write-only: `ExchangeView` says whether they are set and nothing more.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.banks import service as banks
from bastion.banks.errors import BankNotFound
from bastion.banks.models import Bank
from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.exchanges import sealing, timing
from bastion.exchanges.errors import ExchangeExists, ExchangeNotFound, MissingCredentials
from bastion.exchanges.models import Exchange, ExchangeApiCredentials, ExchangeItem
from bastion.exchanges.sharing import Sharing
from bastion.exchanges.types import get_type
from bastion.scanning.urlfetch import FetchPolicy

MIN_EVERY_MINUTES, MAX_EVERY_MINUTES = 5, 7 * 24 * 60


@dataclass(frozen=True)
class ExchangeView:
    """An exchange as people and clients see it: settings, banks, schedule and status, never credentials."""

    id: int
    name: str
    api: str
    settings: dict[str, Any]
    banks: list[str]
    fetch_every_minutes: int
    paused: bool
    has_credentials: bool
    status: str
    last_error: str
    checkpoint_at: datetime | None
    fetch_started_at: datetime | None
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    last_succeeded: bool | None
    items_added: int
    items_updated: int
    items_deleted: int
    items_skipped: int
    live_items: int
    next_fetch_at: datetime | None
    checkpoint_ts: int | None
    #: what Bastion shares back (`sharing.Sharing` as a dict), and since when
    sharing: dict[str, bool]
    share_since: datetime | None


def _check_every(minutes: int) -> int:
    if not MIN_EVERY_MINUTES <= minutes <= MAX_EVERY_MINUTES:
        raise InvalidInput(f"Fetch every {MIN_EVERY_MINUTES} to {MAX_EVERY_MINUTES} minutes; {minutes} is not allowed.")
    return minutes


def _check_credentials(api: str, settings: dict[str, Any], credentials: dict[str, Any]) -> dict[str, Any]:
    kind = get_type(api)
    unknown = set(credentials) - set(kind.credentials)
    if unknown:
        raise InvalidInput(f"{api} takes the credential fields {', '.join(kind.credentials)}; not "
                           f"{', '.join(sorted(unknown))}.")
    clean = {k: str(v) for k, v in credentials.items() if v not in (None, "")}
    kind.check_credentials(clean)
    return clean


def add_exchange(session: Session, *, name: str, api: str, settings: dict[str, Any], bank_names: list[str],
                 credentials: dict[str, Any], fetch_every_minutes: int, actor: str, clock: Clock, secret: bytes,
                 policy: FetchPolicy, create_banks: bool = False, require_credentials: bool = True) -> Exchange:
    """Add an exchange; its first fetch is due at once (unless paused later)."""
    banks.check_name(name)
    kind = get_type(api)
    if session.scalar(select(Exchange.id).where(Exchange.name == name)):
        raise ExchangeExists(f"An exchange named {name} already exists.")
    if not bank_names:
        raise InvalidInput("Name at least one bank the exchange feeds (e.g. --bank NCMEC_INDUSTRY).")
    clean_settings = kind.check(settings, policy)
    clean_credentials = _check_credentials(api, clean_settings, credentials)
    missing = [f for f in kind.needs(clean_settings) if f not in clean_credentials]
    if missing and require_credentials:
        raise MissingCredentials(f"{kind.label} needs the credential field(s) {', '.join(missing)}.")
    bank_ids = []
    for bank_name in dict.fromkeys(bank_names):
        try:
            bank = banks.get_bank(session, bank_name)
        except BankNotFound:
            if not create_banks:
                raise
            bank = banks.create_bank(session, name=bank_name, actor=actor, clock=clock,
                                     description=f"Fed by the exchange {name}", source=f"exchange:{name}")
        bank_ids.append(bank.id)
    now = clock.now()
    exchange = Exchange(name=name, api=api, config_json=json.dumps(clean_settings, sort_keys=True),
                        credentials=sealing.seal(clean_credentials, secret), bank_ids_json=json.dumps(bank_ids),
                        fetch_every_minutes=_check_every(fetch_every_minutes), paused=False, status="idle",
                        last_error="", checkpoint_json="", items_added=0, items_updated=0, items_deleted=0,
                        items_skipped=0, created_at=now, updated_at=now)
    session.add(exchange)
    session.flush()
    audit.record(session, actor=actor, action="exchange.create", subject=f"exchange:{exchange.id}",
                 details={"name": name, "api": api, "settings": clean_settings, "banks": list(dict.fromkeys(bank_names)),
                          "fetch_every_minutes": fetch_every_minutes, "credential_fields": sorted(clean_credentials)},
                 clock=clock)
    timing.schedule_fetch(session, exchange, clock, at=now)
    return exchange


def get_exchange(session: Session, name: str) -> Exchange:
    exchange = session.scalar(select(Exchange).where(Exchange.name == name))
    if exchange is None:
        raise ExchangeNotFound(f"No exchange named {name!r}; `bastion exchanges list` shows them.")
    return exchange


def list_exchanges(session: Session) -> list[Exchange]:
    return list(session.scalars(select(Exchange).order_by(Exchange.name)))


def view(session: Session, exchange: Exchange) -> ExchangeView:
    bank_ids = json.loads(exchange.bank_ids_json)
    names = dict(session.execute(select(Bank.id, Bank.name).where(Bank.id.in_(bank_ids))).all()) if bank_ids else {}
    live = session.scalar(select(func.count()).select_from(ExchangeItem).where(
        ExchangeItem.exchange_id == exchange.id, ExchangeItem.removed_at.is_(None))) or 0
    kind = get_type(exchange.api)
    checkpoint = kind.load_checkpoint(exchange.checkpoint_json)
    shared = session.get(ExchangeApiCredentials, exchange.api)
    return ExchangeView(
        id=exchange.id, name=exchange.name, api=exchange.api, settings=json.loads(exchange.config_json),
        banks=[names[b] for b in bank_ids if b in names], fetch_every_minutes=exchange.fetch_every_minutes,
        paused=exchange.paused, has_credentials=bool(exchange.credentials or (shared and shared.credentials)),
        status=exchange.status, last_error=exchange.last_error, checkpoint_at=exchange.checkpoint_at,
        fetch_started_at=exchange.fetch_started_at if exchange.status == "running" else None,
        last_fetch_at=exchange.last_fetch_at, last_success_at=exchange.last_success_at,
        last_succeeded=exchange.last_succeeded, items_added=exchange.items_added,
        items_updated=exchange.items_updated, items_deleted=exchange.items_deleted,
        items_skipped=exchange.items_skipped, live_items=live, next_fetch_at=timing.next_fetch(session, exchange),
        checkpoint_ts=checkpoint.get_progress_timestamp() if checkpoint is not None else None,
        sharing=asdict(Sharing.of(exchange)), share_since=exchange.share_since,
    )


def set_paused(session: Session, exchange: Exchange, paused: bool, *, actor: str, clock: Clock) -> None:
    """Pause (no fetch runs; a running one stops after its page) or resume (a fetch is due at once)."""
    if exchange.paused == paused:
        return
    exchange.paused, exchange.updated_at = paused, clock.now()
    if paused:
        timing.cancel_fetches(session, exchange)
    else:
        timing.schedule_fetch(session, exchange, clock, at=clock.now())
    audit.record(session, actor=actor, action="exchange.pause" if paused else "exchange.resume",
                 subject=f"exchange:{exchange.id}", details={"name": exchange.name}, clock=clock)


def request_fetch(session: Session, exchange: Exchange, *, actor: str, clock: Clock) -> None:
    """"Fetch now": the exchange's timer becomes due at once."""
    if exchange.paused:
        raise InvalidInput(f"{exchange.name} is paused; resume it first.")
    timing.schedule_fetch(session, exchange, clock, at=clock.now())
    audit.record(session, actor=actor, action="exchange.fetch_requested", subject=f"exchange:{exchange.id}",
                 details={"name": exchange.name}, clock=clock)


def set_credentials(session: Session, exchange: Exchange, credentials: dict[str, Any], *, actor: str, clock: Clock,
                    secret: bytes) -> None:
    """Replace the exchange's credentials; an exchange stopped by `auth_failed` is due to fetch again."""
    clean = _check_credentials(exchange.api, json.loads(exchange.config_json), credentials)
    exchange.credentials, exchange.updated_at = sealing.seal(clean, secret), clock.now()
    audit.record(session, actor=actor, action="exchange.credentials", subject=f"exchange:{exchange.id}",
                 details={"name": exchange.name, "credential_fields": sorted(clean)}, clock=clock)
    if exchange.status == "auth_failed":
        exchange.status, exchange.last_error = "idle", ""
        if not exchange.paused:
            timing.schedule_fetch(session, exchange, clock, at=clock.now())


def set_api_credentials(session: Session, api: str, credentials: dict[str, Any], *, actor: str, clock: Clock,
                        secret: bytes) -> None:
    """HMA's per-type credentials (`/c/exchanges/api/<api>`): used by exchanges of `api` that have none of their own."""
    clean = _check_credentials(api, {}, credentials)
    row = session.get(ExchangeApiCredentials, api)
    if row is None:
        row = ExchangeApiCredentials(api=api, credentials="", updated_at=clock.now())
        session.add(row)
    row.credentials, row.updated_at = sealing.seal(clean, secret), clock.now()
    audit.record(session, actor=actor, action="exchange.api_credentials", subject=f"exchange_api:{api}",
                 details={"credential_fields": sorted(clean)}, clock=clock)


def has_api_credentials(session: Session, api: str) -> bool:
    row = session.get(ExchangeApiCredentials, api)
    return bool(row and row.credentials)


def delete_exchange(session: Session, exchange: Exchange, *, actor: str, clock: Clock) -> None:
    """Remove the exchange and its provenance rows; what it put in banks stays there as ordinary entries."""
    timing.cancel_fetches(session, exchange)
    audit.record(session, actor=actor, action="exchange.delete", subject=f"exchange:{exchange.id}",
                 details={"name": exchange.name, "api": exchange.api}, clock=clock)
    session.delete(exchange)
