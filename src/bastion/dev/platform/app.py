"""App factory for the demo platform: a reference implementation of the contract.

Request path through the middleware stack (outermost first)::

    RequestIdMiddleware -> FaultMiddleware (/v1 only) -> SignatureMiddleware -> routes

Faults sit outside authentication so an injected outage looks like a load
balancer failure: the platform never sees the request (or, with
``after_processing``, processes it and loses the answer).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from bastion.dev.platform.api import build_admin_router, build_api_router, install_error_handlers
from bastion.dev.platform.db import make_engine
from bastion.dev.platform.faults import FaultInjector, FaultMiddleware
from bastion.dev.platform.pages import PUBLIC_PATH_PREFIXES, build_pages_router
from bastion.dev.platform.service import DemoPlatformService, ReceivedAction
from bastion.dev.serving import RequestIdMiddleware, serve_foreground
from bastion.platform.asgi import SignatureMiddleware
from bastion.platform.signing import DEFAULT_TOLERANCE_SECONDS, Secret, SignatureVerifier

__all__ = ["DemoControls", "create_demo_platform_app", "demo_controls", "serve_demo_platform"]


@dataclass(frozen=True)
class DemoControls:
    """In-process handle for tests: fault switch and the received-actions log."""

    service: DemoPlatformService
    faults: FaultInjector

    def fail_next(self, count: int, *, status: int = 503, after_processing: bool = False) -> None:
        self.faults.fail_next(count, status=status, after_processing=after_processing)

    def received_actions(self) -> list[ReceivedAction]:
        return self.service.received_actions()


def demo_controls(app: FastAPI) -> DemoControls:
    """The :class:`DemoControls` of an app made by :func:`create_demo_platform_app`."""
    controls = getattr(app.state, "demo", None)
    if not isinstance(controls, DemoControls):
        raise TypeError("not a demo platform app")
    return controls


def _is_public(path: str) -> bool:
    return path in ("/", "/healthz") or path.startswith(PUBLIC_PATH_PREFIXES)


def create_demo_platform_app(
    db_path: str | Path,
    secret: Secret,
    clock: Callable[[], float] | None = None,
    *,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    page_size: int = 100,
) -> FastAPI:
    """Build the demo platform over the SQLite file ``db_path``.

    Creates the schema if needed but does not seed; call
    :func:`~bastion.dev.platform.seed.seed_demo_platform` first for data.
    ``clock`` drives both signature freshness and action timestamps.
    """
    clock = clock or time.time
    engine = make_engine(db_path)
    service = DemoPlatformService(engine, clock)
    faults = FaultInjector()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()

    app = FastAPI(
        title="Bastion demo platform",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # docs/platform-contract.md is the specification
    )
    app.state.demo = DemoControls(service=service, faults=faults)
    install_error_handlers(app)
    app.include_router(build_api_router(service, default_page_size=page_size))
    app.include_router(build_admin_router(service, faults))
    app.include_router(build_pages_router(service))

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # add_middleware wraps: the last added runs first.
    app.add_middleware(
        SignatureMiddleware,
        verifier=SignatureVerifier(secret, tolerance=tolerance, clock=clock),
        exempt=_is_public,
    )
    app.add_middleware(FaultMiddleware, injector=faults)
    app.add_middleware(RequestIdMiddleware, header="X-Request-Id", make_id=lambda: f"req-{uuid.uuid4().hex[:16]}")

    return app


def serve_demo_platform(host: str, port: int, db_path: str | Path, secret: Secret) -> None:
    """Serve the demo platform until interrupted (does not seed)."""
    serve_foreground(create_demo_platform_app(db_path, secret), host, port, name="demo platform", access_log=True)
