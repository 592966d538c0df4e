"""The application factory."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from bastion import __version__
from bastion.clock import Clock, SystemClock
from bastion.config import Settings, get_settings
from bastion.db import make_engine, make_sessionmaker
from bastion.executor import InProcessExecutor, TaskContext
from bastion.timers import Ticker
from bastion.web import errors
from bastion.web.api import apikeys, audit, auth, health, orgsettings, users
from bastion.web.state import AppState
from bastion.web.ui import admin_pages, auth_pages
from bastion.web.ui.csrf import AnonCsrfCookie

STATIC_DIR = Path(__file__).parent / "ui" / "static"


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
    state = AppState(settings=settings, engine=engine, sessions=make_sessionmaker(engine),
                     clock=clock or SystemClock(), secret=settings.secret_key_bytes())

    app = FastAPI(title="Bastion", version=__version__, lifespan=_lifespan if background else None,
                  description="Child-safety and legal-process operations. JSON API under /api/v1.")
    app.state.bastion = state
    errors.install(app)
    app.add_middleware(AnonCsrfCookie, secure=settings.cookie_secure)
    for router in (health.router, auth.router, users.router, apikeys.router, audit.router, orgsettings.router,
                   auth_pages.router, admin_pages.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


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
    try:
        yield
    finally:
        stop.set()
        ticker.join(timeout=10)
        executor.shutdown()
