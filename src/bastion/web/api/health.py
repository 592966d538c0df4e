"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from bastion.auth.permissions import Perm
from bastion.db import migrate
from bastion.web.guard import needs
from bastion.web.scaleout import CONFIG, PROBE
from bastion.web.state import get_state

router = APIRouter(tags=["health"])


@router.get("/healthz", dependencies=[needs(Perm.PUBLIC)])
def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", dependencies=[needs(Perm.PUBLIC)])
def readyz(request: Request) -> JSONResponse:
    """The database answers, its schema is at the newest migration, and the broker (if configured) answers."""
    engine = get_state(request).engine
    try:
        current = migrate.current_revision(engine)
    except Exception as exc:  # any database failure means not ready
        return JSONResponse({"status": "unavailable", "database": type(exc).__name__}, status_code=503)
    head = migrate.head_revision()
    if current != head:
        return JSONResponse(
            {"status": "migrations_pending", "current": current, "head": head,
             "detail": "Run `bastion db upgrade`."}, status_code=503,
        )
    state = get_state(request)
    probe = state.services.get(PROBE)
    if probe is not None:  # a broker is configured: without it no asynchronous work gets done
        broker = state.services[CONFIG].redacted_url()
        error = probe.error()
        if error is not None:
            return JSONResponse({"status": "broker_unavailable", "revision": current, "broker": broker,
                                 "error": error}, status_code=503)
        return JSONResponse({"status": "ready", "revision": current, "broker": broker})
    return JSONResponse({"status": "ready", "revision": current})


@router.get("/.well-known/bastion/production-key.json", dependencies=[needs(Perm.PUBLIC)])
def production_key(request: Request) -> dict[str, object]:
    """The public key that verifies Bastion's signed production packages (`bastion production verify`)."""
    from bastion.production.keys import public_key_document

    return public_key_document(get_state(request).services["production.signing_key"])
