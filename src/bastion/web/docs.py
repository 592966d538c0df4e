"""The API's own documentation (/docs, /redoc, /openapi.json), for signed-in staff and API clients only.

The route list is no secret (the code is open), but a live instance's schema is a map for an
attacker and nobody outside needs it: officers never, anonymous visitors never. Staff with a
session and machine clients with a key (permission `api.docs`) get it.

Swagger UI and ReDoc come from the `fastapi-offline` package, served from this origin under
`/docs-assets` (no CDN); the pages start them from `/static/docs-init.js`, so no inline script.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from bastion.auth.permissions import Perm
from bastion.web.guard import needs

ASSETS_URL = "/docs-assets"


def assets_dir() -> Path:
    """Where the installed `fastapi-offline` keeps the Swagger UI and ReDoc bundles."""
    import fastapi_offline

    return Path(fastapi_offline.__file__).parent / "static"


router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store, private"}


def _page(request: Request, title: str, swagger: bool) -> HTMLResponse:
    from bastion.web.ui.render import render

    return render(request, "api_docs.html", {"title": title, "swagger": swagger, "assets": ASSETS_URL},
                  headers=NO_STORE)


@router.get("/openapi.json", dependencies=[needs(Perm.API_DOCS)])
def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi(), headers=NO_STORE)


@router.get("/docs", dependencies=[needs(Perm.API_DOCS)])
def swagger(request: Request) -> HTMLResponse:
    return _page(request, "Swagger UI", swagger=True)


@router.get("/redoc", dependencies=[needs(Perm.API_DOCS)])
def redoc(request: Request) -> HTMLResponse:
    return _page(request, "ReDoc", swagger=False)
