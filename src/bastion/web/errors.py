"""How errors reach the caller: JSON for machines, a page or a redirect for people.

Typed domain errors (`BastionError`) carry their own code, status and sentence.
Paths under the API prefixes always get JSON, so an unknown API route is a JSON 404.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from bastion.auth.errors import NotAuthenticated, SecondFactorRequired
from bastion.errors import BastionError
from bastion.media import MediaError

log = logging.getLogger(__name__)

HMA_PREFIXES = ("/h/", "/m/", "/c/")
API_PREFIXES = ("/api/", "/healthz", "/readyz", "/metrics", *HMA_PREFIXES)


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIXES) or "application/json" in request.headers.get("accept", "")


def is_hma(request: Request) -> bool:
    """HMA clients read errors as `{"message": ...}` (see docs/hma-api-reference.md)."""
    return request.url.path.startswith(HMA_PREFIXES)


def _json(status: int, code: str, detail: str, headers: dict[str, str] | None = None,
          request: Request | None = None) -> JSONResponse:
    body = {"message": detail} if request is not None and is_hma(request) else {"code": code, "detail": detail}
    return JSONResponse(body, status_code=status, headers=headers)


def _page(request: Request, status: int, title: str, detail: str) -> Response:
    from bastion.web.ui.render import render

    return render(request, "error.html", {"title": title, "detail": detail}, status_code=status)


async def bastion_error(request: Request, exc: BastionError) -> Response:
    retry = getattr(exc, "retry_after_seconds", None)  # throttled logins, a full queue, a broker outage
    headers = {"Retry-After": str(retry)} if retry else None
    if wants_json(request):
        return _json(exc.status, exc.code, exc.message, headers, request)
    if isinstance(exc, SecondFactorRequired):
        return RedirectResponse("/login/totp" if exc.enrolled else "/account/totp", status_code=303)
    if isinstance(exc, NotAuthenticated):
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return _page(request, exc.status, exc.code.replace("_", " ").capitalize(), exc.message)


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    detail = exc.detail if isinstance(exc.detail, str) else "Error"
    if exc.status_code == 404:
        detail = "Not found. Check the address." if detail == "Not Found" else detail
    if wants_json(request):
        return _json(exc.status_code, _code_for(exc.status_code), detail, getattr(exc, "headers", None), request)
    return _page(request, exc.status_code, detail, "")


async def validation_error(request: Request, exc: RequestValidationError) -> Response:
    if is_hma(request):  # HMA (flask-openapi3) answers with pydantic's bare error list
        return JSONResponse(jsonable_encoder(exc.errors()), status_code=422)
    problems = [
        {"field": ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "body", "message": err.get("msg", "")}
        for err in exc.errors()
    ]
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    if wants_json(request):
        return JSONResponse({"code": "invalid_input", "detail": summary, "errors": problems}, status_code=422)
    return _page(request, 422, "Please correct the form", summary)


async def model_error(request: Request, exc: ValidationError) -> Response:
    """A model built in a handler from what the caller sent (not by FastAPI) refused it: the caller's fault."""
    problems = [{"field": ".".join(str(p) for p in err.get("loc", ())) or "body", "message": err.get("msg", "")}
                for err in exc.errors()]
    summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    if is_hma(request):
        return JSONResponse(jsonable_encoder(exc.errors(include_url=False)), status_code=422)
    if wants_json(request):
        return JSONResponse({"code": "invalid_input", "detail": summary, "errors": problems}, status_code=422)
    return _page(request, 422, "Please correct the form", summary)


async def media_error(request: Request, exc: MediaError) -> Response:
    """Refused media: a machine-readable code and a sentence; the server keeps serving."""
    retry = getattr(exc, "retry_after_seconds", None)
    headers = {"Retry-After": str(retry)} if retry else None
    if wants_json(request):
        return _json(exc.status, exc.code, exc.message, headers, request)
    return _page(request, exc.status, "This file cannot be used", exc.message)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.url.path})
    return _json(500, "internal_error", "Something went wrong on our side; it has been logged.", None, request)


def _code_for(status: int) -> str:
    return {401: "not_authenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(
        status, "http_error"
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(BastionError, bastion_error)  # type: ignore[arg-type]
    app.add_exception_handler(MediaError, media_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(ValidationError, model_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, unexpected_error)
