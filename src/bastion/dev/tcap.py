"""A local stand-in for Tech Against Terrorism's hash list API (TCAP), as python-threatexchange's client calls it.

For development and tests only: seeded benign hashes (random hex) on loopback. Built from the
client (`threatexchange.exchanges.clients.techagainstterrorism.api`) and TCAP's published hash-list
documentation:

* `POST /token-auth/tcap/` with `username` and `password` (a form) answers `{"token", "user"}`; a
  wrong pair answers HTTP 400 with `non_field_errors`, as a Django REST framework login does;
* `GET /api/hash-list/v2/all?order=asc&after=<time>,<id>` with `Authorization: Bearer <token>`
  answers `count`, `next`, `previous`, `checkpoint` (`<updated time>,<id>` of the page's last record)
  and `results` (`hash_digest`, `algorithm`, `ideology`, `file_type`, `deleted`, `updated_on`,
  `created_on`, `id`).

The client glues `next` onto the list's URL after a `?` (so the first request carries `None` and
later ones a whole URL as a query key); the stand-in reads `offset` and `limit` from whatever key
ends in them, as a tolerant server would. Where the documentation leaves it open: records come in
order of (`updated_on`, `id`), `after` is exclusive, and `offset` counts from `after`. Offset paging
over a list that changes mid-fetch can skip a record (as it can on any offset-paged API); a fetch
resumed from a checkpoint never does.

It can be told to fail: `failures`, `delay`, `expired` (the login is refused), `on_request`.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request, Response

from bastion.dev.serving import BackgroundServer, Failures

LIST_PATH = "/api/hash-list/v2/all"


@dataclass
class TatRecord:
    id: int
    hash_digest: str
    algorithm: str  # PDQ | MD5
    file_type: str  # jpg | mp4 | ...
    ideology: str
    deleted: bool
    updated_on: float
    created_on: str

    def as_json(self) -> dict[str, Any]:
        return {"hash_digest": self.hash_digest, "algorithm": self.algorithm, "ideology": self.ideology,
                "file_type": self.file_type, "deleted": self.deleted, "updated_on": self.updated_on,
                "created_on": self.created_on, "id": self.id}


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status_code=status, media_type="application/json")


class TcapStandin(BackgroundServer):
    """TCAP's login and hash list on a loopback port."""

    def __init__(self, username: str, password: str, *, clock: Callable[[], datetime], page_size: int = 50,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.username, self.password, self.clock, self.page_size = username, password, clock, page_size
        self.records: dict[int, TatRecord] = {}
        self.requests: list[dict[str, str]] = []
        self.failures = Failures()
        self.delay = 0.0
        self.expired = False
        self.on_request: Callable[[str, str], None] | None = None
        self._tokens: set[str] = set()
        self._ids = 100
        self._lock = threading.Lock()
        super().__init__(self._app(), host=host, port=port)

    @property
    def base_url(self) -> str:
        return self.origin + "/"

    def put(self, value: str, *, algorithm: str = "PDQ", file_type: str = "jpg", at: datetime | None = None) -> TatRecord:
        with self._lock:
            found = next((r for r in self.records.values() if r.hash_digest == value), None)
            when = (at or self.clock()).timestamp()
            if found is None:
                self._ids += 1
                found = TatRecord(self._ids, value, algorithm, file_type, "islamist", False, when,
                                  (at or self.clock()).isoformat())
                self.records[found.id] = found
            found.deleted, found.updated_on = False, when
            return found

    def delete(self, value: str, *, at: datetime | None = None) -> None:
        with self._lock:
            found = next(r for r in self.records.values() if r.hash_digest == value)
            found.deleted, found.updated_on = True, (at or self.clock()).timestamp()

    def _app(self) -> FastAPI:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

        @app.middleware("http")
        async def gate(request: Request, call_next: Any) -> Response:
            self.requests.append({"method": request.method, "path": request.url.path, "query": request.url.query})
            if self.on_request is not None:
                self.on_request(request.url.path, request.url.query)
            if self.delay:
                time.sleep(self.delay)
            failure = self.failures.take()
            if failure is not None:
                return _json({"detail": f"stand-in told to fail ({failure})"}, failure)
            return await call_next(request)  # type: ignore[no-any-return]

        @app.post("/token-auth/tcap/")
        async def login(request: Request) -> Response:
            form = await request.form()
            ok = (not self.expired and secrets.compare_digest(str(form.get("username", "")), self.username)
                  and secrets.compare_digest(str(form.get("password", "")), self.password))
            if not ok:
                return _json({"non_field_errors": ["Unable to log in with provided credentials."]}, 400)
            token = secrets.token_urlsafe(24)
            self._tokens.add(token)
            return _json({"token": token, "user": {"username": self.username}})

        @app.get(LIST_PATH)
        def hash_list(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            if not header.startswith("Bearer ") or header[7:] not in self._tokens:
                return _json({"detail": "Given token not valid for any token type"}, 401)
            args: dict[str, str] = {}
            for key, value in parse_qsl(request.url.query, keep_blank_values=True):
                args[key.rsplit("?", 1)[-1].rsplit("&", 1)[-1]] = value
            try:
                offset = int(args.get("offset") or 0)
                limit = max(1, min(int(args.get("limit") or self.page_size), self.page_size))
                after_text = args.get("after", "")
                after = (float(after_text.split(",")[0]), int(after_text.split(",")[1])) if after_text else None
            except (ValueError, IndexError):
                return _json({"detail": "offset, limit and after (<time>,<id>) are numbers"}, 400)
            with self._lock:
                stream = sorted((r for r in self.records.values()
                                 if after is None or (r.updated_on, r.id) > after), key=lambda r: (r.updated_on, r.id))
                if args.get("order") == "desc":
                    stream.reverse()
                page = stream[offset:offset + limit]
                more = offset + limit < len(stream)
                body = {"count": len(stream),
                        "next": f"{self.origin}{LIST_PATH}?limit={limit}&offset={offset + limit}" if more else None,
                        "previous": None,
                        "checkpoint": f"{page[-1].updated_on},{page[-1].id}" if page else after_text,
                        "results": [r.as_json() for r in page]}
            return _json(body)

        return app
