"""A local stand-in for the DSA Transparency Database API (statements of reasons, API v2).

For development and tests only. It answers the endpoints Bastion uses the way the published API
documentation says the real one does: Bearer-token auth (401 otherwise); `POST /api/v1/statement`
and `POST /api/v1/statements` (at most 100) answering `201 Created` with each statement's uuid, or
`422` with the errors by field (by `statement_<index>` for a batch, in which case none of the batch
is created); a puid already held by this platform is a 422 on `puid`, and a single statement's 422
carries the `existing` one; `GET /api/v1/statement/existing-puid/{puid}` answers 302 with the
statement or 404. Fields and enumerations are checked with `bastion.dsa.schema`.

Tests can make the next calls fail with a 503, before or after the statements are written (the
second is the case that matters: the database holds them but the platform never heard so).
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from bastion.dev.serving import BackgroundServer, serve_foreground
from bastion.dsa.schema import BATCH_LIMIT, summary, validate

__all__ = ["DsaStandinServer", "DsaStandinState", "create_dsa_standin_app", "serve_dsa_standin"]

API_PREFIX = "/api/v1"
NOT_UNIQUE = "The identifier given is not unique within this platform."


@dataclass
class _Fault:
    remaining: int
    after_write: bool


class DsaStandinState:
    """The in-memory database of one platform's statements; each public method is atomic."""

    def __init__(self, *, public_url: str = "http://127.0.0.1") -> None:
        self._lock = threading.Lock()
        self._by_puid: dict[str, dict[str, Any]] = {}
        self._fault: _Fault | None = None
        self.public_url = public_url
        self.calls = 0  # batch and single submissions received, answered or not

    def fail_next(self, count: int = 1, *, after_write: bool = False) -> None:
        """Answer the next `count` submissions with 503; with `after_write`, store them first."""
        with self._lock:
            self._fault = _Fault(count, after_write)

    def _take_fault(self) -> _Fault | None:
        if self._fault is None or self._fault.remaining <= 0:
            return None
        self._fault.remaining -= 1
        return _Fault(1, self._fault.after_write)

    def statements(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(s) for s in self._by_puid.values()]

    def by_puid(self, puid: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._by_puid.get(puid)
            return dict(found) if found else None

    def _stored(self, statement: dict[str, Any]) -> dict[str, Any]:
        made = str(uuid.uuid4())
        row = {**statement, "uuid": made, "created_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
               "platform_name": "Bastion stand-in", "permalink": f"{self.public_url}/statement/{made}",
               "self": f"{self.public_url}{API_PREFIX}/statement/{made}"}
        for key in ("territorial_scope", "content_type", "decision_visibility"):
            if isinstance(row.get(key), list):
                row[key] = sorted(row[key])
        return row

    def create(self, statements: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        """All or nothing, as the multiple endpoint: (status, body)."""
        with self._lock:
            self.calls += 1
            fault = self._take_fault()
            if fault is not None and not fault.after_write:
                return 503, {"message": "Service Unavailable"}
            errors: dict[str, dict[str, list[str]]] = {}
            seen: set[str] = set()
            for index, statement in enumerate(statements):
                problems = validate(statement)
                puid = statement.get("puid") if isinstance(statement, dict) else None
                if isinstance(puid, str) and (puid in self._by_puid or puid in seen):
                    problems.setdefault("puid", []).append(NOT_UNIQUE)
                if isinstance(puid, str):
                    seen.add(puid)
                if problems:
                    errors[f"statement_{index}"] = problems
            if errors:
                return 422, {"errors": errors}
            created = [self._stored(s) for s in statements]
            for row in created:
                self._by_puid[row["puid"]] = row
            if fault is not None:
                return 503, {"message": "Service Unavailable"}
            return 201, {"statements": created}


def _json(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def create_dsa_standin_app(token: str, *, state: DsaStandinState | None = None) -> FastAPI:
    if not token:
        raise ValueError("the stand-in needs an API token, like the database")
    state = state or DsaStandinState()
    router = APIRouter(prefix=API_PREFIX)

    async def body_of(request: Request) -> Any:
        try:
            return json.loads(await request.body() or b"null")
        except ValueError:
            return None

    @router.post("/statement")
    async def create_one(request: Request) -> JSONResponse:
        statement = await body_of(request)
        problems = validate(statement if statement is not None else {})
        if problems:
            return _json(422, {"message": summary(problems), "errors": problems})
        existing = state.by_puid(str(statement["puid"]))
        if existing is not None:
            return _json(422, {"message": NOT_UNIQUE, "errors": {"puid": [NOT_UNIQUE]}, "existing": existing})
        status, body = state.create([statement])
        return _json(status, body["statements"][0] if status == 201 else body)

    @router.post("/statements")
    async def create_many(request: Request) -> JSONResponse:
        body = await body_of(request)
        statements = body.get("statements") if isinstance(body, dict) else None
        if not isinstance(statements, list) or not statements:
            message = "The statements field is required."
            return _json(422, {"message": message, "errors": {"statements": [message]}})
        if len(statements) > BATCH_LIMIT:
            message = f"The statements field must not have more than {BATCH_LIMIT} items."
            return _json(422, {"message": message, "errors": {"statements": [message]}})
        status, answer = state.create(statements)
        return _json(status, answer)

    @router.get("/statement/existing-puid/{puid}")
    async def existing_puid(puid: str) -> JSONResponse:
        found = state.by_puid(puid)
        return _json(302, found) if found else _json(404, {"message": "statement of reason not found"})

    @router.get("/statement/{made}")
    async def show(made: str) -> JSONResponse:
        found = next((s for s in state.statements() if s["uuid"] == made), None)
        return _json(200, found) if found else _json(404, {"message": "statement of reason not found"})

    app = FastAPI(title="DSA Transparency Database stand-in", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def bearer(request: Request, call_next: Any) -> Any:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), token.encode()):
            return _json(401, {"message": "Unauthenticated."})
        return await call_next(request)

    app.include_router(router)
    app.state.standin = state
    return app


def serve_dsa_standin(host: str, port: int, token: str, *, log_level: str = "info") -> None:
    """Run the stand-in in the foreground until interrupted; point BASTION_DSA_TDB_URL at it."""
    serve_foreground(create_dsa_standin_app(token), host, port, name="DSA Transparency Database stand-in",
                     log_level=log_level)


class DsaStandinServer(BackgroundServer):
    """The stand-in on a background thread: ``with DsaStandinServer(token) as s: s.base_url``."""

    def __init__(self, token: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._standin = create_dsa_standin_app(token)
        super().__init__(self._standin, host=host, port=port)

    @property
    def state(self) -> DsaStandinState:
        state: DsaStandinState = self._standin.state.standin
        return state
