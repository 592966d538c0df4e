"""The contract's ``/v1`` endpoints plus the demo-only ``/_demo`` admin API.

Authentication is not handled here: :class:`~bastion.platform.asgi.SignatureMiddleware`
has already verified every request that reaches these routes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from bastion.dev.platform.faults import FaultInjector
from bastion.dev.platform.service import (
    ActionKind,
    DemoPlatformService,
    IdempotencyConflict,
    NotFound,
    Page,
)
from bastion.platform.models import AccountNotice, LookupKind, RestrictionKind
from bastion.platform.signing import IDEMPOTENCY_HEADER, IDEMPOTENT_REPLAYED_HEADER

__all__ = ["ApiError", "build_admin_router", "build_api_router", "install_error_handlers"]

MAX_PAGE_SIZE = 500


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves in the contract's ``{"error": {code, message}}`` shape."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return _error(404, "not_found", str(exc))

    @app.exception_handler(IdempotencyConflict)
    async def _conflict(_: Request, exc: IdempotencyConflict) -> JSONResponse:
        return _error(409, "idempotency_key_reused", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg')}"
            for err in exc.errors()
        )
        return _error(400, "invalid_request", details or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error(exc.status_code, code, str(exc.detail))


# -- request bodies ---------------------------------------------------------------


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RemovalRequest(_Body):
    reason: str = Field(min_length=1, max_length=2000)


class RestrictionRequest(_Body):
    kind: RestrictionKind
    reason: str = Field(min_length=1, max_length=2000)


class LookupRequest(_Body):
    kind: LookupKind
    value: str = Field(min_length=1, max_length=320)


class FaultRequest(_Body):
    count: int = Field(ge=0, le=10_000)
    status: int = Field(default=503, ge=400, le=599)
    after_processing: bool = False


# -- helpers ------------------------------------------------------------------------

Since = Annotated[AwareDatetime | None, Query(description="inclusive, RFC 3339")]
Until = Annotated[AwareDatetime | None, Query(description="exclusive, RFC 3339")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, Query()]
IdempotencyKey = Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)]


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit():
        raise ApiError(400, "invalid_request", "invalid cursor")
    return int(cursor)


def _check_range(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since > until:
        raise ApiError(400, "invalid_request", "since must not be after until")


def _page(page: Page) -> dict[str, Any]:
    return {
        "items": [item.model_dump(mode="json") for item in page.items],
        "next_cursor": page.next_cursor,
    }


def _require_key(key: str | None) -> str:
    if not key:
        raise ApiError(400, "idempotency_key_required", f"{IDEMPOTENCY_HEADER} header is required")
    return key


def _action_response(body: dict[str, Any], replayed: bool) -> JSONResponse:
    return JSONResponse(body, headers={IDEMPOTENT_REPLAYED_HEADER: "true" if replayed else "false"})


# -- routers ------------------------------------------------------------------------


def build_api_router(service: DemoPlatformService, *, default_page_size: int = 100) -> APIRouter:
    router = APIRouter(prefix="/v1")

    def act(kind: ActionKind, target: str, params: dict[str, Any], key: str | None) -> JSONResponse:
        body, replayed = service.perform(kind, target, params, _require_key(key))
        return _action_response(body, replayed)

    @router.post("/accounts/lookup")
    def lookup_accounts(body: LookupRequest) -> dict[str, Any]:
        """A read (no Idempotency-Key): POST only to keep emails and phone numbers out of URLs."""
        return {"items": [m.model_dump(mode="json") for m in service.lookup(body.kind, body.value)]}

    @router.get("/accounts/{account_id}")
    def get_account(account_id: str) -> dict[str, Any]:
        return service.account(account_id).model_dump(mode="json")

    @router.get("/accounts/{account_id}/subscriber")
    def get_subscriber(account_id: str) -> dict[str, Any]:
        return service.subscriber(account_id).model_dump(mode="json")

    @router.get("/accounts/{account_id}/posts")
    def list_posts(
        account_id: str,
        since: Since = None,
        until: Until = None,
        limit: Limit = default_page_size,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        _check_range(since, until)
        return _page(service.posts(account_id, since, until, limit, _offset(cursor)))

    @router.get("/accounts/{account_id}/logins")
    def list_logins(
        account_id: str,
        since: Since = None,
        until: Until = None,
        limit: Limit = default_page_size,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        _check_range(since, until)
        return _page(service.logins(account_id, since, until, limit, _offset(cursor)))

    @router.get("/accounts/{account_id}/devices")
    def list_devices(
        account_id: str, limit: Limit = default_page_size, cursor: Cursor = None
    ) -> dict[str, Any]:
        return _page(service.devices(account_id, limit, _offset(cursor)))

    @router.get("/accounts/{account_id}/locations")
    def list_locations(
        account_id: str,
        since: Since = None,
        until: Until = None,
        limit: Limit = default_page_size,
        cursor: Cursor = None,
    ) -> dict[str, Any]:
        _check_range(since, until)
        return _page(service.locations(account_id, since, until, limit, _offset(cursor)))

    @router.post("/accounts/{account_id}/restrictions")
    def restrict(
        account_id: str, body: RestrictionRequest, key: IdempotencyKey = None
    ) -> JSONResponse:
        return act("restrict_account", account_id, body.model_dump(), key)

    @router.post("/accounts/{account_id}/reinstatement")
    def reinstate(account_id: str, body: RemovalRequest, key: IdempotencyKey = None) -> JSONResponse:
        return act("lift_restriction", account_id, body.model_dump(), key)

    @router.post("/accounts/{account_id}/notices")
    def notify(account_id: str, body: AccountNotice, key: IdempotencyKey = None) -> JSONResponse:
        return act("notify_account", account_id, body.model_dump(mode="json"), key)

    @router.post("/accounts/{account_id}/preservations")
    def preserve(account_id: str, key: IdempotencyKey = None) -> JSONResponse:
        return act("preserve_account", account_id, {}, key)

    @router.get("/content/{content_id}")
    def get_content(content_id: str) -> dict[str, Any]:
        return service.content(content_id).model_dump(mode="json")

    @router.get("/content/{content_id}/media")
    def get_media(content_id: str) -> Response:
        data, media_type = service.media(content_id)
        return Response(
            data,
            media_type=media_type,
            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )

    @router.get("/content/{content_id}/hosting")
    def get_hosting(content_id: str) -> dict[str, Any]:
        return service.hosting(content_id).model_dump(mode="json")

    @router.post("/content/{content_id}/removal")
    def remove(content_id: str, body: RemovalRequest, key: IdempotencyKey = None) -> JSONResponse:
        return act("remove_content", content_id, body.model_dump(), key)

    @router.post("/content/{content_id}/restoration")
    def restore(content_id: str, body: RemovalRequest, key: IdempotencyKey = None) -> JSONResponse:
        return act("restore_content", content_id, body.model_dump(), key)

    return router


def build_admin_router(service: DemoPlatformService, faults: FaultInjector) -> APIRouter:
    """Demo-only test hooks (signed like the API, so they are not open on a network)."""
    router = APIRouter(prefix="/_demo")

    @router.post("/faults")
    def set_faults(body: FaultRequest) -> dict[str, Any]:
        faults.fail_next(body.count, status=body.status, after_processing=body.after_processing)
        return {"pending": faults.pending}

    @router.delete("/faults")
    def clear_faults() -> dict[str, Any]:
        faults.clear()
        return {"pending": 0}

    @router.get("/actions")
    def list_actions() -> dict[str, Any]:
        return {
            "items": [
                {**vars(a), "received_at": a.received_at.isoformat().replace("+00:00", "Z")}
                for a in service.received_actions()
            ]
        }

    return router
