"""A local stand-in for the ThreatExchange endpoints of Meta's Graph API that python-threatexchange calls.

For development and tests only: seeded benign hashes (random hex) on loopback. Built from the
client (`threatexchange.exchanges.clients.fb_threatexchange.api`) and the published
ThreatExchange reference (threat_updates, threat_descriptors, reactions):

* the app access token (`<app id>|<secret>`) travels as the `access_token` query parameter;
  a wrong or expired one answers HTTP 400 with an `OAuthException` (code 190), as the Graph API does;
* `GET /<privacy group>/threat_updates/?start_time=&stop_time=&limit=&fields=&after=` answers
  `data` (each indicator's latest state: type, indicator, `last_updated`, `should_delete`, its
  descriptors with owner, status, tags and reactions) and `paging` (`cursors.after`, and `next`:
  the whole URL of the next page, token included, since the client sends nothing else);
* `POST /<descriptor id>/?reactions=` adds a reaction; `POST /threat_descriptors/?indicator=&type=&…`
  adds a descriptor owned by the calling app (replacing the app's earlier one on that indicator: one
  opinion per app and indicator, so a resent upload does not count twice).

Where the reference leaves it open, the stand-in picks a reading: updates come in order of
`last_updated`, `start_time` is inclusive and `stop_time` exclusive, and a cursor is a position in
that order, so an indicator changed between two pages moves to the end of the stream. A reaction
or a new descriptor is a change: the indicator is served again.

It can be told to fail: `failures` (the next N calls answer a status), `delay` (every call waits),
`expired` (every token is refused), `on_request` (runs before each call).
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request, Response

from bastion.dev.serving import BackgroundServer, Failures

PREFIX = "/graph"


@dataclass
class Descriptor:
    id: int
    owner: int
    status: str  # MALICIOUS | NON_MALICIOUS | UNKNOWN
    tags: list[str]
    reactions: dict[str, set[int]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"id": str(self.id), "owner": {"id": str(self.owner)}, "status": self.status,
                "tags": list(self.tags),
                "reactions": [{"key": k, "value": ",".join(map(str, sorted(v)))} for k, v in sorted(self.reactions.items())]}


@dataclass
class Indicator:
    id: int
    type: str
    value: str
    updated: int
    seq: int
    deleted: bool = False
    descriptors: list[Descriptor] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": str(self.id), "indicator": self.value, "type": self.type,
                                "last_updated": self.updated, "should_delete": self.deleted}
        if not self.deleted:
            body["descriptors"] = {"data": [d.as_json() for d in self.descriptors]}
        return body


def _graph_error(message: str, code: int, kind: str = "OAuthException", status: int = 400) -> Response:
    return Response(json.dumps({"error": {"message": message, "type": kind, "code": code}}), status_code=status,
                    media_type="application/json")


class ThreatExchangeStandin(BackgroundServer):
    """ThreatExchange's threat_updates, descriptors and reactions on a loopback port."""

    def __init__(self, token: str, privacy_group: int, *, clock: Callable[[], datetime], member_app: int = 55550001,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.token, self.privacy_group, self.clock, self.member_app = token, privacy_group, clock, member_app
        self.indicators: dict[tuple[str, str], Indicator] = {}
        self.requests: list[dict[str, str]] = []
        self.reactions: list[tuple[int, str, int]] = []
        self.uploads: list[dict[str, str]] = []
        self.failures = Failures()
        self.delay = 0.0
        self.expired = False
        self.on_request: Callable[[str, str], None] | None = None
        self._seq = 0
        self._ids = 9000
        self._lock = threading.Lock()
        super().__init__(self._app(), host=host, port=port)

    @property
    def base_url(self) -> str:
        return self.origin + PREFIX

    @property
    def app_id(self) -> int:
        return int(self.token.partition("|")[0])

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _touch(self, indicator: Indicator, at: datetime | None = None) -> None:
        self._seq += 1
        indicator.updated, indicator.seq = int((at or self.clock()).timestamp()), self._seq

    # -- seeding and changes -------------------------------------------------------------

    def put(self, value: str, *, type: str = "HASH_PDQ", status: str = "MALICIOUS", tags: tuple[str, ...] = (),
            owner: int | None = None, at: datetime | None = None) -> Indicator:
        """Add (or replace) an indicator with one descriptor by `owner` (default: another member app)."""
        with self._lock:
            indicator = self.indicators.get((type, value)) or Indicator(self._next_id(), type, value, 0, 0)
            indicator.deleted = False
            indicator.descriptors = [Descriptor(self._next_id(), owner or self.member_app, status, list(tags))]
            self.indicators[(type, value)] = indicator
            self._touch(indicator, at)
            return indicator

    def delete(self, value: str, *, type: str = "HASH_PDQ", at: datetime | None = None) -> None:
        with self._lock:
            indicator = self.indicators[(type, value)]
            indicator.deleted, indicator.descriptors = True, []
            self._touch(indicator, at)

    # -- the API ---------------------------------------------------------------------------

    def _token_ok(self, request: Request) -> bool:
        given = request.query_params.get("access_token", "")
        return not self.expired and secrets.compare_digest(given, self.token)

    def _app(self) -> FastAPI:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

        @app.middleware("http")
        async def gate(request: Request, call_next: Any) -> Response:
            query = "&".join(p for p in request.url.query.split("&") if not p.startswith("access_token="))
            self.requests.append({"method": request.method, "path": request.url.path, "query": query})
            if self.on_request is not None:
                self.on_request(request.url.path, request.url.query)
            if self.delay:
                time.sleep(self.delay)
            failure = self.failures.take()
            if failure is not None:
                return _graph_error(f"stand-in told to fail ({failure})", 2, "OAuthException", failure)
            if not self._token_ok(request):
                return _graph_error("Error validating access token: Session has expired.", 190)
            return await call_next(request)  # type: ignore[no-any-return]

        @app.get(PREFIX + "/{group}/threat_updates/")
        def threat_updates(group: int, request: Request) -> Response:
            if group != self.privacy_group:
                return _graph_error(f"Unsupported get request. Object with ID '{group}' does not exist.", 100,
                                    "GraphMethodException")
            args = request.query_params
            try:
                start = int(args["start_time"]) if args.get("start_time") else 0
                stop = int(args["stop_time"]) if args.get("stop_time") else None
                limit = max(1, min(int(args.get("limit") or 100), 1000))
                after = json.loads(base64.urlsafe_b64decode(args["after"].encode())) if args.get("after") else None
            except (ValueError, TypeError):
                return _graph_error("Invalid parameter", 100, "GraphMethodException")
            with self._lock:
                stream = sorted((i for i in self.indicators.values() if i.updated >= start
                                 and (stop is None or i.updated < stop)
                                 and (after is None or [i.updated, i.seq] > after)), key=lambda i: (i.updated, i.seq))
                page = stream[:limit]
                body: dict[str, Any] = {"data": [i.as_json() for i in page]}
                if page:
                    cursor = base64.urlsafe_b64encode(json.dumps([page[-1].updated, page[-1].seq]).encode()).decode()
                    body["paging"] = {"cursors": {"after": cursor}}
                    if len(stream) > limit:
                        params = {k: v for k, v in args.items() if k != "after"}
                        body["paging"]["next"] = (f"{self.base_url}/{group}/threat_updates/?"
                                                  + urlencode({**params, "after": cursor}))
            return Response(json.dumps(body), media_type="application/json")

        @app.post(PREFIX + "/threat_descriptors/")
        def upload(request: Request) -> Response:
            args = dict(request.query_params)
            missing = [f for f in ("indicator", "type", "description", "share_level", "status", "privacy_type")
                       if not args.get(f)]
            if missing:
                return _graph_error(f"Missing {', '.join(missing)}", 100, "GraphMethodException")
            with self._lock:
                self.uploads.append({k: v for k, v in args.items() if k != "access_token"})
                key = (args["type"], args["indicator"])
                indicator = self.indicators.get(key) or Indicator(self._next_id(), key[0], key[1], 0, 0)
                indicator.deleted = False
                descriptor = Descriptor(self._next_id(), self.app_id, args["status"],
                                        [t for t in args.get("tags", "").split(",") if t])
                indicator.descriptors = [d for d in indicator.descriptors if d.owner != self.app_id] + [descriptor]
                self.indicators[key] = indicator
                self._touch(indicator)
            return Response(json.dumps({"success": True, "id": str(descriptor.id)}), media_type="application/json")

        @app.post(PREFIX + "/{descriptor_id}/")
        def react(descriptor_id: int, request: Request) -> Response:
            reaction = request.query_params.get("reactions", "")
            with self._lock:
                for indicator in self.indicators.values():
                    for descriptor in indicator.descriptors:
                        if descriptor.id == descriptor_id:
                            self.reactions.append((descriptor_id, reaction, self.app_id))
                            descriptor.reactions.setdefault(reaction, set()).add(self.app_id)
                            self._touch(indicator)
                            return Response(json.dumps({"success": True}), media_type="application/json")
            return _graph_error(f"Object with ID '{descriptor_id}' does not exist.", 100, "GraphMethodException")

        return app
