"""HMA's probes and spec path: `/status`, `/status/live`, `/livez` and `/openapi/openapi.json`.

Load balancers and Kubernetes probes configured for HMA call these. The probes need
no login, like Bastion's own `/healthz` and `/readyz` (`bastion.web.api.health`):
a probe carries no credentials, and the answers are three fixed words. The spec is
the same document as Bastion's `/openapi.json`, under the same permission
(`api.docs`: signed-in staff and API keys), at the path HMA serves it from.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.exc import SQLAlchemyError

from bastion.auth.permissions import Perm
from bastion.web import docs
from bastion.web.guard import needs
from bastion.web.hma import translate
from bastion.web.state import get_state

log = logging.getLogger(__name__)

router = APIRouter(tags=["HMA: status"])

ALIVE, NOT_LOADED, STALE = "I-AM-ALIVE", "INDEX-NOT-LOADED", "INDEX-STALE"


@router.get("/status", dependencies=[needs(Perm.PUBLIC)], response_class=PlainTextResponse)
def status(request: Request) -> PlainTextResponse:
    """200 `I-AM-ALIVE`; 503 `INDEX-NOT-LOADED` while the PDQ index loads (the first call starts the load),
    503 `INDEX-STALE` when a bank change has waited past `hma_index_stale_seconds` to reach it."""
    state = get_state(request)
    if not translate.pdq_index_ready(state):  # starts the load
        return PlainTextResponse(NOT_LOADED, status_code=503)
    try:
        with state.sessions() as session:
            translate.refresh_pdq_index(session, state)
        stale = translate.index_stale(state)
    except SQLAlchemyError as exc:  # the index cannot be brought up to date, nor shown to be current
        log.warning("index status unknown: the database did not answer", extra={"error": type(exc).__name__})
        stale = True
    if stale:
        return PlainTextResponse(STALE, status_code=503)
    return PlainTextResponse(ALIVE)


@router.get("/status/live", dependencies=[needs(Perm.PUBLIC)], response_class=PlainTextResponse)
def status_live() -> PlainTextResponse:
    """Liveness only: the process serves HTTP (the index is not looked at, so a cold start is no failure)."""
    return PlainTextResponse(ALIVE)


@router.get("/livez", dependencies=[needs(Perm.PUBLIC)], response_class=PlainTextResponse)
def livez() -> PlainTextResponse:
    """HMA's newer liveness probe: `OK`."""
    return PlainTextResponse("OK")


@router.get("/openapi/openapi.json", dependencies=[needs(Perm.API_DOCS)], include_in_schema=False)
def openapi(request: Request) -> JSONResponse:
    """Bastion's OpenAPI document at HMA's path (`/openapi.json` serves the same)."""
    return docs.openapi(request)
