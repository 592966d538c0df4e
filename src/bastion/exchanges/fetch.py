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
from sqlalchemy import and_, or_, update
from sqlalchemy.orm import Session, sessionmaker
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal

from bastion import audit
from bastion.clock import Clock
from bastion.errors import BastionError
from bastion.exchanges import sealing
from bastion.exchanges.apply import SOURCE_PREFIX, apply_page, sweep
from bastion.exchanges.models import Exchange, ExchangeApiCredentials
from bastion.exchanges.types import get_type
from bastion.scanning.urlfetch import FetchFailed, FetchPolicy

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=30)


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
        return sealing.unseal(exchange.credentials, secret)
    shared = session.get(ExchangeApiCredentials, exchange.api)
    return sealing.unseal(shared.credentials, secret) if shared else {}


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
                generation = int(getattr(delta.checkpoint, "generation", 0))
                page = apply_page(session, exchange, kind, settings, bank_ids, delta.updates, generation, clock)
                exchange.checkpoint_json = kind.dump_checkpoint(delta.checkpoint)
                exchange.checkpoint_at = clock.now()
                if kind.snapshot and getattr(delta.checkpoint, "complete", False):
                    page.deleted += sweep(session, exchange, generation, clock)
                exchange.items_added += page.added
                exchange.items_updated += page.updated
                exchange.items_deleted += page.deleted
                exchange.items_skipped += page.skipped
                if page.added or page.updated or page.deleted or page.skipped:  # empty windows change nothing
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
    if status_code in (401, 403) or _graph_api_token_refused(exc, status_code) or _login_refused(exc, status_code):
        return "auth_failed", (f"The exchange refused the credentials (HTTP {status_code}). Edit them; "
                               "no fetch runs until then.")
    return "error", sealing.redact(text, credentials)[:2000]


def _graph_api_token_refused(exc: Exception, status_code: int | None) -> bool:
    """The Graph API refuses an expired or invalid token with HTTP 400 and an OAuthException (code 190)."""
    if status_code != 400 or not isinstance(exc, requests.HTTPError) or exc.response is None:
        return False
    try:
        error = exc.response.json().get("error", {})
    except ValueError:
        return False
    return isinstance(error, dict) and (error.get("type") == "OAuthException" or error.get("code") == 190)


def _login_refused(exc: Exception, status_code: int | None) -> bool:
    """TCAP refuses a wrong user or password at its token endpoint with HTTP 400, before any list is read."""
    return (status_code == 400 and isinstance(exc, requests.HTTPError) and exc.response is not None
            and "/token-auth/" in str(exc.response.url))


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
