"""Running one fetch of one exchange: pages in, bank changes and the checkpoint out, page by page.

Each page of the exchange's client is applied in one transaction together with the
checkpoint that follows it, so a fetch that dies (a killed process, a lost network)
resumes from the last committed page with no gap and no duplicate; applying a record
twice is a no-op anyway (one `ExchangeItem` per exchange, bank and upstream id).

A fetch claims its exchange (status `running`) with a conditional UPDATE, so two
workers never fetch the same exchange at once; a claim with no page committed for
`LEASE` (a worker that died) may be taken over. Wrong credentials (HTTP 401/403) leave the exchange
`auth_failed`: nothing fetched is lost, and no further fetch is scheduled until the
credentials are edited. Item content never reaches the logs: only counts and reasons.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import requests
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal

from bastion import audit
from bastion.banks import service as banks
from bastion.banks.models import Bank, BankEntry
from bastion.banks.signals import normalise
from bastion.clock import Clock
from bastion.errors import BastionError
from bastion.exchanges import secrets
from bastion.exchanges.models import Exchange, ExchangeApiCredentials, ExchangeItem
from bastion.exchanges.types import ExchangeType, Upstream, get_type
from bastion.media import MediaError
from bastion.scanning.urlfetch import FetchFailed, FetchPolicy

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=30)
SOURCE_PREFIX = "exchange:"


@dataclass
class FetchReport:
    """What one run did. `status`: ok, error, auth_failed, busy, paused, deleted."""

    status: str = "ok"
    pages: int = 0
    added: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0
    error: str = ""


def credentials_for(session: Session, exchange: Exchange, secret: bytes) -> dict[str, Any]:
    """The exchange's own credentials, else those set for its type (HMA's per-API credentials)."""
    if exchange.credentials:
        return secrets.unseal(exchange.credentials, secret)
    shared = session.get(ExchangeApiCredentials, exchange.api)
    return secrets.unseal(shared.credentials, secret) if shared else {}


def _claim(sessions: sessionmaker[Session], exchange_id: int, clock: Clock) -> str:
    now = clock.now()
    with sessions() as session, session.begin():
        exchange = session.get(Exchange, exchange_id)
        if exchange is None:
            return "deleted"
        if exchange.paused:
            return "paused"
        stale = now - LEASE  # a live fetch commits a checkpoint every page: that is its heartbeat
        claimed = session.execute(
            update(Exchange).where(Exchange.id == exchange_id, or_(
                Exchange.status != "running", Exchange.fetch_started_at.is_(None),
                and_(Exchange.fetch_started_at < stale,
                     or_(Exchange.checkpoint_at.is_(None), Exchange.checkpoint_at < stale))))
            .values(status="running", fetch_started_at=now, items_added=0, items_updated=0, items_deleted=0,
                    items_skipped=0)
        ).rowcount
        return "claimed" if claimed == 1 else "busy"


def run_fetch(sessions: sessionmaker[Session], exchange_id: int, *, clock: Clock, secret: bytes,
              policy: FetchPolicy, on_page: Callable[[FetchReport], None] | None = None) -> FetchReport:
    """Fetch what is new since the stored checkpoint and apply it to the exchange's banks."""
    claim = _claim(sessions, exchange_id, clock)
    if claim != "claimed":
        return FetchReport(status=claim)
    with sessions() as session:
        exchange = session.get(Exchange, exchange_id)
        assert exchange is not None
        kind, name = get_type(exchange.api), exchange.name
        settings = json.loads(exchange.config_json)
        bank_ids = [int(b) for b in json.loads(exchange.bank_ids_json)]
        try:
            credentials = credentials_for(session, exchange, secret)
        except BastionError as exc:
            return _finish(sessions, exchange_id, FetchReport(status="error", error=exc.message), clock)
        checkpoint = kind.load_checkpoint(exchange.checkpoint_json)
    report = FetchReport()
    try:
        client = kind.client(name, settings, credentials, policy)
        for delta in client.fetch_iter([PdqSignal, VideoMD5Signal], checkpoint):
            with sessions() as session:
                exchange = session.get(Exchange, exchange_id)
                if exchange is None or exchange.paused:  # deleted or paused while fetching: stop cleanly
                    report.status = "deleted" if exchange is None else "paused"
                    if exchange is not None:
                        exchange.status = "idle"  # resuming continues from the checkpoint at once
                        session.commit()
                    return report
                page = _apply_page(session, exchange, kind, settings, bank_ids, delta, clock)
                exchange.checkpoint_json = kind.dump_checkpoint(delta.checkpoint)
                exchange.checkpoint_at = clock.now()
                if kind.snapshot and getattr(delta.checkpoint, "complete", False):
                    page.deleted += _sweep(session, exchange, int(getattr(delta.checkpoint, "generation", 0)), clock)
                exchange.items_added += page.added
                exchange.items_updated += page.updated
                exchange.items_deleted += page.deleted
                exchange.items_skipped += page.skipped
                audit.record(session, actor=SOURCE_PREFIX + name, action="exchange.fetch_page",
                             subject=f"exchange:{exchange_id}",
                             details={"added": page.added, "updated": page.updated, "deleted": page.deleted,
                                      "skipped": page.skipped}, clock=clock)
                session.commit()
            report.pages += 1
            for field in ("added", "updated", "deleted", "skipped"):
                setattr(report, field, getattr(report, field) + getattr(page, field))
            if on_page is not None:
                on_page(report)
    except Exception as exc:  # any failure is recorded on the exchange; what was committed stays
        report.status, report.error = _classify(exc, credentials)
        log.warning("exchange fetch failed", extra={"exchange": name, "status": report.status,
                                                    "error": report.error})
    return _finish(sessions, exchange_id, report, clock)


def _classify(exc: Exception, credentials: dict[str, Any]) -> tuple[str, str]:
    status_code = None
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status_code = exc.response.status_code
    elif isinstance(exc, FetchFailed):
        status_code = exc.extra.get("http_status")
    text = exc.message if isinstance(exc, BastionError) else f"{type(exc).__name__}: {exc}"
    if status_code in (401, 403):
        return "auth_failed", (f"The exchange refused the credentials (HTTP {status_code}). Edit them; "
                               "no fetch runs until then.")
    return "error", secrets.redact(text, credentials)[:2000]


def _finish(sessions: sessionmaker[Session], exchange_id: int, report: FetchReport, clock: Clock) -> FetchReport:
    now = clock.now()
    with sessions() as session:
        exchange = session.get(Exchange, exchange_id)
        if exchange is None:
            report.status = "deleted"
            return report
        exchange.status, exchange.last_error = report.status, report.error
        exchange.last_fetch_at, exchange.last_succeeded = now, report.status == "ok"
        if report.status == "ok":
            exchange.last_success_at = now
        audit.record(session, actor=SOURCE_PREFIX + exchange.name, action="exchange.fetch",
                     subject=f"exchange:{exchange_id}",
                     details={"status": report.status, "pages": report.pages, "added": report.added,
                              "updated": report.updated, "deleted": report.deleted, "skipped": report.skipped,
                              "error": report.error}, clock=clock)
        session.commit()
    return report


def _apply_page(session: Session, exchange: Exchange, kind: ExchangeType, settings: dict[str, Any],
                bank_ids: list[int], delta: Any, clock: Clock) -> FetchReport:
    page = FetchReport()
    live_banks = list(session.scalars(select(Bank).where(Bank.id.in_(bank_ids), Bank.deleted_at.is_(None))))
    generation = int(getattr(delta.checkpoint, "generation", 0))
    for key, value in delta.updates.items():
        upstream = kind.translate(key, value, settings)
        if upstream is None:
            continue
        clean = _clean(upstream, exchange.name) if upstream.signals is not None and not upstream.skipped else None
        if upstream.skipped or (upstream.signals is not None and not clean):
            page.skipped += 1
            if upstream.skipped:
                log.info("exchange item skipped", extra={"exchange": exchange.name, "upstream_id": upstream.upstream_id,
                                                         "reason": "malformed"})
            continue
        for bank in live_banks:
            if clean is None:
                page.deleted += _remove(session, exchange, bank.id, upstream.upstream_id, clock)
            else:
                outcome = _upsert(session, exchange, bank, upstream, clean, generation, clock)
                if outcome == "added":
                    page.added += 1
                elif outcome == "updated":
                    page.updated += 1
    return page


def _clean(upstream: Upstream, exchange_name: str) -> dict[str, str]:
    """The record's signals that pass Bastion's checks; a bad one is dropped, counted by the caller, never logged."""
    clean: dict[str, str] = {}
    for kind, value in (upstream.signals or {}).items():
        try:
            normal_kind, normal_value = normalise(kind, value)
        except (BastionError, MediaError):
            log.info("exchange signal skipped", extra={"exchange": exchange_name, "upstream_id": upstream.upstream_id,
                                                       "signal_type": kind, "reason": "invalid value"})
            continue
        clean[normal_kind] = normal_value
    return clean


def _upsert(session: Session, exchange: Exchange, bank: Bank, upstream: Upstream, clean: dict[str, str],
            generation: int, clock: Clock) -> str:
    now = clock.now()
    item = session.scalar(select(ExchangeItem).where(
        ExchangeItem.exchange_id == exchange.id, ExchangeItem.bank_id == bank.id,
        ExchangeItem.upstream_id == upstream.upstream_id[:255]))
    signals_json, labels_json = json.dumps(clean, sort_keys=True), json.dumps(upstream.labels, sort_keys=True)
    live = item is not None and item.removed_at is None and item.entry_id is not None
    if item is not None and live and item.signals_json == signals_json:
        item.last_seen, item.generation = now, generation
        if item.labels_json == labels_json:
            return "same"
        item.labels_json = labels_json
        entry = session.get(BankEntry, item.entry_id)
        if entry is not None and entry.source == SOURCE_PREFIX + exchange.name:
            entry.classification = str(upstream.labels.get("classification", ""))[:64]
            entry.metadata_json = json.dumps(_metadata(exchange, upstream))
        return "updated"
    if item is not None and live:
        _release(session, item, exchange, clock)  # its hashes changed upstream: the old entry goes
    entry = banks.add_entry(
        session, bank, clean, actor=SOURCE_PREFIX + exchange.name, clock=clock,
        external_id=upstream.upstream_id, source=SOURCE_PREFIX + exchange.name,
        classification=str(upstream.labels.get("classification", "")), metadata=_metadata(exchange, upstream),
        audited=False,
    ).entry
    if item is None:
        session.add(ExchangeItem(exchange_id=exchange.id, bank_id=bank.id, upstream_id=upstream.upstream_id[:255],
                                 entry_id=entry.id, signals_json=signals_json, labels_json=labels_json,
                                 generation=generation, first_seen=now, last_seen=now))
        session.flush()
        return "added"
    item.entry_id, item.removed_at, item.signals_json, item.labels_json = entry.id, None, signals_json, labels_json
    item.last_seen, item.generation = now, generation
    return "updated" if live else "added"


def _metadata(exchange: Exchange, upstream: Upstream) -> dict[str, Any]:
    """HMA's metadata shape (`collab`: exchange -> fetch keys; `json`: free), so HMA clients see the provenance."""
    return {"collab": {exchange.name: [upstream.upstream_id]},
            "json": {"exchange": exchange.name, "upstream_id": upstream.upstream_id, "labels": upstream.labels}}


def _release(session: Session, item: ExchangeItem, exchange: Exchange, clock: Clock) -> None:
    """Unlink the item from its entry; the entry goes when an exchange made it and no live item still holds it."""
    entry_id, item.entry_id = item.entry_id, None
    session.flush()
    if entry_id is None:
        return
    entry = session.get(BankEntry, entry_id)
    if entry is None or not entry.source.startswith(SOURCE_PREFIX):
        return
    holders = session.scalar(select(func.count()).select_from(ExchangeItem).where(
        ExchangeItem.entry_id == entry_id, ExchangeItem.removed_at.is_(None)))
    if not holders:
        banks.delete_entry(session, entry, actor=SOURCE_PREFIX + exchange.name, clock=clock)


def _remove(session: Session, exchange: Exchange, bank_id: int, upstream_id: str, clock: Clock) -> int:
    item = session.scalar(select(ExchangeItem).where(
        ExchangeItem.exchange_id == exchange.id, ExchangeItem.bank_id == bank_id,
        ExchangeItem.upstream_id == upstream_id[:255]))
    if item is None or item.removed_at is not None:
        return 0
    item.removed_at = clock.now()
    _release(session, item, exchange, clock)
    return 1


def _sweep(session: Session, exchange: Exchange, generation: int, clock: Clock) -> int:
    """After a complete snapshot: every live item the generation did not see was removed upstream."""
    gone = session.scalars(select(ExchangeItem).where(
        ExchangeItem.exchange_id == exchange.id, ExchangeItem.removed_at.is_(None),
        ExchangeItem.generation < generation)).all()
    for item in gone:
        item.removed_at = clock.now()
        _release(session, item, exchange, clock)
    return len(gone)

