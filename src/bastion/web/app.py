"""The application factory."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bastion import __version__
from bastion.clock import Clock, SystemClock
from bastion.config import Settings, get_settings
from bastion.db import make_engine, make_sessionmaker
from bastion.executor import InProcessExecutor, TaskContext
from bastion.matching import BruteForcePDQIndex, MIHPDQIndex
from bastion.evidence import anchors
from bastion.dsa import tasks as dsa_tasks
from bastion.reports import monthly as monthly_reports
from bastion.reports import rollup as report_rollup
from bastion.reports import semiannual as semiannual_reports
from bastion.matching.banked import BankMatcher, schedule_snapshots
from bastion.matching.store import SnapshotStore, open_store
from bastion.media import DecodeLimits, isolation, video_isolation
from bastion.media.limits import apply_to_pillow
from bastion.cases.intake import CaseOpener
from bastion.cases.media import build_media_store
from bastion.scanning.service import Scanner
from bastion.scanning.urlfetch import FetchPolicy
from bastion import outbox
from bastion.timers import Ticker
from bastion.web import docs, errors, metrics, scaleout
from bastion.web import hma
from bastion.web.api import (
    account,
    apikeys,
    appeals,
    audit,
    auth,
    banks,
    cases,
    complaints,
    exchanges as exchanges_api,
    health,
    orgsettings,
    reports,
    scan,
    scan_batch,
    transparency,
    users,
)
from bastion.web.context import RequestContext
from bastion.web.headers import SecurityHeaders
from bastion.web.api import legal as legal_api
from bastion.web.api import queues as queues_api
from bastion.web.state import AppState
from bastion.web.ui import (
    admin_pages,
    appeal_pages,
    auth_pages,
    chart_pages,
    dsa_pages,
    authority_pages,
    detect_pages,
    grievance_pages,
    bulk_pages,
    queue_pages,
    report_pages,
    review_pages,
    transparency_pages,
    video_review_pages,
    wellbeing_pages,
)
from bastion.web.ui import account_pages, exchange_pages, legal_pages, operations_pages, portal_pages
from bastion.web.ui.csrf import AnonCsrfCookie

STATIC_DIR = Path(__file__).parent / "ui" / "static"

log = logging.getLogger(__name__)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    engine: Engine | None = None,
    background: bool = False,
) -> FastAPI:
    """Build the app. With `background`, the in-process executor and timer ticker run alongside."""
    settings = settings or get_settings()
    engine = engine or make_engine(settings.effective_database_url)
    clock = clock or SystemClock()
    sessions = make_sessionmaker(engine)
    matcher, scanner = build_detection(settings, sessions, clock)
    state = AppState(settings=settings, engine=engine, sessions=sessions, clock=clock,
                     secret=settings.secret_key_bytes(), matcher=matcher, scanner=scanner)
    wire_review(state)
    scaleout.wire_broker(state)  # after every task is registered: a broker app registers them all

    app = FastAPI(title="Bastion", version=__version__, lifespan=_lifespan if background else None,
                  description="Child-safety and legal-process operations. JSON API under /api/v1.",
                  docs_url=None, redoc_url=None, openapi_url=None)  # served by `web.docs`, signed-in only
    app.state.bastion = state
    errors.install(app)
    app.add_middleware(RequestContext)  # innermost: its 500s still get the cookie and security headers
    app.add_middleware(AnonCsrfCookie, secure=settings.cookie_secure)
    app.add_middleware(SecurityHeaders, hsts=settings.cookie_secure)
    for router in (health.router, auth.router, users.router, apikeys.router, audit.router, orgsettings.router,
                   banks.router, scan_batch.router, scan.router, cases.router, queues_api.router, hma.router, auth_pages.router, admin_pages.router,
                   detect_pages.router, review_pages.router, bulk_pages.router, queue_pages.router, reports.router, report_pages.router, authority_pages.router,
                   legal_api.router, legal_pages.router, portal_pages.router, account.router, account_pages.router,
                   complaints.router, grievance_pages.router, appeals.router, appeal_pages.router, transparency.router,
                   transparency_pages.router, chart_pages.router, exchanges_api.router,
                   exchanges_api.contributions_router, exchange_pages.router, dsa_pages.router,
                   video_review_pages.router, wellbeing_pages.router, operations_pages.router, metrics.router, docs.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount(docs.ASSETS_URL, StaticFiles(directory=docs.assets_dir()), name="docs-assets")
    return app


def build_detection(settings: Settings, sessions: sessionmaker[Session], clock: Clock) -> tuple[BankMatcher, Scanner]:
    """The matcher (one PDQ index per process) and the scanner in front of it."""
    factory = MIHPDQIndex if settings.pdq_index == "mih" else BruteForcePDQIndex
    matcher = BankMatcher(sessions, clock, index_factory=factory, refresh_seconds=settings.index_refresh_seconds,
                          store=snapshot_store(settings), snapshot_check_seconds=settings.snapshot_check_seconds)
    limits = DecodeLimits(max_bytes=settings.media_max_bytes, max_pixels=settings.media_max_pixels)
    apply_to_pillow(limits)  # Pillow's own process-wide cap must not be stricter than ours
    isolation.configure(budget_pixels=settings.media_decode_budget_pixels, workers=settings.media_decode_workers,
                        memory_mb=settings.media_decode_memory_mb)
    video_isolation.configure(slots=settings.video_decode_slots)  # `bastion worker` lets a decode wait (run_worker)
    policy = FetchPolicy.from_settings(
        settings.scan_url_allowed_hosts.split(","), settings.scan_url_allowed_networks.split(","),
        settings.media_max_bytes, settings.scan_url_timeout_seconds,
    )
    scanner = Scanner(matcher, clock, limits=limits, fetch_policy=policy, fast_decode=settings.media_fast_decode)
    opener = CaseOpener(build_media_store(settings, clock), clock)
    scanner.listeners.append(opener)
    if settings.classifier_url:  # an operator's classifier of unknown material: a signal for review, never an act
        from bastion.cases.classifiers import ClassifierStep, HttpClassifier

        key = settings.classifier_key.get_secret_value() if settings.classifier_key else ""
        scanner.unmatched_listeners.append(ClassifierStep(HttpClassifier(settings.classifier_url, key),
                                                          opener.media, clock))
    return matcher, scanner


def snapshot_store(settings: Settings) -> SnapshotStore:
    """Where this instance publishes and finds PDQ index snapshots (BASTION_SNAPSHOT_URL; see `matching.store`)."""
    return open_store(settings.snapshot_url, default_dir=settings.index_snapshot_path.parent,
                      cache_dir=settings.snapshot_cache_path, endpoint_url=settings.snapshot_endpoint_url)


def wire_review(state: AppState) -> None:
    """Media for review, the evidence vault, and the platform connector, for pages and background tasks."""
    import bastion.actions.tasks  # noqa: F401  (registers actions.deliver)
    import bastion.cases.enforce  # noqa: F401  (registers the action-sync task)
    import bastion.cases.tasks  # noqa: F401  (registers the removal-clock task)
    import bastion.evidence.anchors  # noqa: F401  (registers audit.export_head)
    import bastion.evidence.tasks  # noqa: F401  (registers evidence.purge)
    import bastion.ncmec.tasks  # noqa: F401  (registers ncmec.advance and ncmec.watch)
    import bastion.notices.statements  # noqa: F401  (registers notices.statement)
    import bastion.appeals.service  # noqa: F401  (registers appeals.deadline)
    import bastion.grievances.service  # noqa: F401  (registers grievances.reminder and grievances.deadline)
    import bastion.reports.monthly  # noqa: F401  (registers reports.india_monthly)
    import bastion.reports.semiannual  # noqa: F401  (registers reports.le_transparency)
    import bastion.reports.rollup  # noqa: F401  (registers reports.rollup)
    import bastion.dsa.tasks  # noqa: F401  (registers dsa.submit)
    from bastion.actions.tasks import CONNECTOR_FACTORY
    from bastion.evidence.tasks import VAULT_SERVICE
    from bastion.ncmec.config import NcmecConfig
    from bastion.matching.banked import MATCHER_SERVICE

    settings = state.settings
    opener = next(listener for listener in state.scanner.listeners if isinstance(listener, CaseOpener))
    state.services["media_store"] = opener.media
    state.services[MATCHER_SERVICE] = state.matcher
    state.services[VAULT_SERVICE] = opener.media.vault
    bastion.ncmec.tasks.wire(state.services, NcmecConfig.from_settings(settings))  # the CyberTipline client, if configured
    bastion.dsa.tasks.wire(state.services, settings.dsa_tdb_url,  # the DSA Transparency Database, if configured
                           settings.dsa_tdb_token.get_secret_value() if settings.dsa_tdb_token else "")
    settings = state.settings
    if settings.platform_url and settings.platform_secret:
        from bastion.platform.http_connector import HttpPlatformConnector

        secret, url = settings.platform_secret.get_secret_value(), settings.platform_url
        state.services[CONNECTOR_FACTORY] = lambda: HttpPlatformConnector(url, secret)
    from datetime import timedelta

    from bastion.actions import DELIVERY_POLICY, DeliveryPolicy
    from bastion.actions.tasks import SWEEP_GRACE_SERVICE

    state.services[DELIVERY_POLICY] = DeliveryPolicy(lease=timedelta(seconds=settings.delivery_lease_seconds))
    state.services[SWEEP_GRACE_SERVICE] = timedelta(seconds=settings.outbox_sweep_grace_seconds)
    state.services[outbox.RETENTION_SERVICE] = timedelta(days=settings.task_outbox_retention_days)
    wire_mail_and_productions(state)
    wire_exchanges(state)


def wire_exchanges(state: AppState) -> None:
    """Exchange fetches and contributions run from timer rows; they need the instance secret (credentials) and the
    fetch policy."""
    import bastion.exchanges.contribute  # noqa: F401  (registers exchanges.share)
    import bastion.exchanges.tasks  # noqa: F401  (registers exchanges.fetch)
    from bastion.exchanges.policy import fetch_policy

    bastion.exchanges.tasks.wire(state.services, state.secret, fetch_policy(state.settings))


def wire_mail_and_productions(state: AppState) -> None:
    """Mail leaves through its outbox (SMTP, or the local sink by default); productions are signed."""
    import bastion.mail.tasks  # noqa: F401  (registers mail.send)
    from bastion.mail.config import MailConfig
    from bastion.mail.tasks import MAIL_SENDER
    from bastion.production.config import ProductionConfig

    state.services[MAIL_SENDER] = MailConfig.from_settings(state.settings).sender()
    state.services["production.signing_key"] = ProductionConfig.from_settings(state.settings).signing_key()


def _check_vault(state: AppState, session: Session) -> None:
    """Say loudly (log and operations page) when this process's vault is not the one the records were sealed in."""
    from bastion.evidence.shared import PROBLEMS_SERVICE, check_shared
    from bastion.evidence.tasks import VAULT_SERVICE

    vault = state.services.get(VAULT_SERVICE)
    problems = check_shared(session, vault) if vault is not None else []
    state.services[PROBLEMS_SERVICE] = problems
    for problem in problems:
        log.error("evidence vault is not the shared one", extra={"problem": problem})


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Run the executor and ticker for the life of the server, and stop them cleanly."""
    state: AppState = app.state.bastion
    ctx = TaskContext(sessions=state.sessions, clock=state.clock, services=state.services)
    executor = InProcessExecutor(ctx, workers=state.settings.workers)
    state.services["executor"] = executor
    stop = threading.Event()
    ticker = threading.Thread(
        target=Ticker(ctx).run_forever, args=(stop, state.settings.ticker_interval_seconds),
        name="bastion-ticker", daemon=True,
    )
    ticker.start()
    relay = threading.Thread(target=state.services[scaleout.RELAY].run_forever, args=(stop, 1.0),
                             name="bastion-relay", daemon=True)
    relay.start()
    await asyncio.to_thread(state.matcher.load)
    with state.sessions() as session:
        schedule_snapshots(session, state.clock)
        monthly_reports.schedule(session, state.clock)
        semiannual_reports.schedule(session, state.clock)
        report_rollup.schedule(session, state.clock)
        dsa_tasks.schedule(session, state.clock)
        outbox.schedule_prune(session, state.clock)
        if not state.services[scaleout.CONFIG].enabled:  # the executor's queue died with the last process
            from bastion.jobs.service import resume_all

            resume_all(session, actor="system:startup", clock=state.clock)
        if state.settings.audit_anchor_dir:
            state.services[anchors.ANCHOR_DIR_SERVICE] = state.settings.audit_anchor_dir
            anchors.schedule(session, state.clock, at=state.clock.now())
        session.commit()
        _check_vault(state, session)
    try:
        yield
    finally:
        stop.set()
        ticker.join(timeout=10)
        relay.join(timeout=10)
        executor.shutdown()
