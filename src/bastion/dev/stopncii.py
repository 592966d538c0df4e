"""A local stand-in for StopNCII.org's hash API, as python-threatexchange's client calls it.

For development and tests only: it serves seeded benign hashes (random hex, never of real
images) on loopback. Built from the client (`threatexchange.exchanges.clients.stopncii.api`)
and StopNCII's published API description:

* every call carries `Ocp-Apim-Subscription-Key` (the subscription) and `x-functions-key`
  (a key per endpoint); a wrong or expired one answers 401, as Azure API Management does;
* `GET /v1/FetchHashes?startTimestamp=&pageSize=&nextPageToken=` answers `hashRecords`
  (each the latest state of one hash: status, cases, platforms' feedback), `nextPageToken`,
  `hasMoreRecords` and `nextSetTimestamp`;
* `POST /v1/SubmitFeedback` takes `{"count", "hashFeedbacks": [{"hashValue", "feedbackValue", "tags"}]}`.

Where the published text leaves it open, the stand-in picks a reading: records come in order
of last change, `startTimestamp` is inclusive, `nextSetTimestamp` is the last change time on
the page (so a fetch resumed from it sees that second again rather than miss anything), and a
page token is a position in that order, so a record changed between two pages moves to the
end of the stream instead of being lost. Feedback is a change: the hash is served again.

It can be told to fail: the next N calls answer a status (`failures`), every call waits
(`delay`), the credentials expire (`expired`), or `on_request` runs before each call (tests use
it to change the data between two pages).
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

from fastapi import FastAPI, Request, Response

from bastion.dev.serving import BackgroundServer, Failures

PREFIX = "/v1"


@dataclass
class HashRecord:
    signal_type: str  # ImagePDQ | VideoMD5 | ...
    value: str
    status: str  # Received | Active | Withdrawn | Deleted
    modified: int
    seq: int
    cases: dict[str, str] = field(default_factory=dict)
    feedback: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"lastModtimestamp": self.modified, "signalType": self.signal_type, "hashValue": self.value,
                "hashStatus": self.status, "caseNumbers": dict(self.cases), "CSPFeedbacks": list(self.feedback)}


def _token(record: HashRecord) -> str:
    return base64.urlsafe_b64encode(json.dumps([record.modified, record.seq]).encode()).decode()


def _position(token: str) -> tuple[int, int] | None:
    try:
        modified, seq = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(modified), int(seq)
    except (ValueError, TypeError):
        return None


class StopNCIIStandin(BackgroundServer):
    """StopNCII's FetchHashes and SubmitFeedback on a loopback port."""

    def __init__(self, subscription_key: str, fetch_key: str, feedback_key: str, *, clock: Callable[[], datetime],
                 csp_name: str = "Bastion Test Platform", host: str = "127.0.0.1", port: int = 0) -> None:
        self.subscription_key, self.fetch_key, self.feedback_key = subscription_key, fetch_key, feedback_key
        self.clock, self.csp_name = clock, csp_name
        self.records: dict[tuple[str, str], HashRecord] = {}
        self.requests: list[dict[str, str]] = []
        self.feedback: list[dict[str, Any]] = []
        self.failures = Failures()
        self.delay = 0.0
        self.expired = False
        #: the largest page served, whatever the client asks (the library asks for 800)
        self.page_size_cap = 1000
        self.on_request: Callable[[str, str], None] | None = None
        self._seq = 0
        self._lock = threading.Lock()
        super().__init__(self._app(), host=host, port=port)

    @property
    def base_url(self) -> str:
        return self.origin + PREFIX

    # -- seeding and changes -------------------------------------------------------------

    def _touch(self, record: HashRecord, at: datetime | None) -> None:
        self._seq += 1
        record.modified, record.seq = int((at or self.clock()).timestamp()), self._seq

    def put(self, value: str, *, signal_type: str = "ImagePDQ", status: str = "Active", at: datetime | None = None,
            cases: dict[str, str] | None = None) -> HashRecord:
        with self._lock:
            record = self.records.get((signal_type, value)) or HashRecord(signal_type, value, status, 0, 0)
            record.status, record.cases = status, dict(cases or {"case-" + value[:8]: status})
            self.records[(signal_type, value)] = record
            self._touch(record, at)
            return record

    def withdraw(self, value: str, *, signal_type: str = "ImagePDQ", at: datetime | None = None) -> None:
        """The person who submitted the hash withdrew it: platforms must stop using it."""
        self.put(value, signal_type=signal_type, status="Withdrawn", at=at)

    # -- the API ---------------------------------------------------------------------------

    def _app(self) -> FastAPI:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
        keys = {"FetchHashes": lambda: self.fetch_key, "SubmitFeedback": lambda: self.feedback_key}

        @app.middleware("http")
        async def gate(request: Request, call_next: Any) -> Response:
            endpoint = request.url.path.rsplit("/", 1)[-1]
            self.requests.append({"path": request.url.path, "query": request.url.query})
            if self.on_request is not None:
                self.on_request(request.url.path, request.url.query)
            if self.delay:
                time.sleep(self.delay)  # the stand-in's thread: a slow page, not a slow event loop for tests
            failure = self.failures.take()
            if failure is not None:
                return Response(json.dumps({"message": f"stand-in told to fail ({failure})"}), status_code=failure,
                                media_type="application/json")
            expected = keys.get(endpoint, lambda: "")()
            ok = (not self.expired and expected
                  and secrets.compare_digest(request.headers.get("ocp-apim-subscription-key", ""),
                                             self.subscription_key)
                  and secrets.compare_digest(request.headers.get("x-functions-key", ""), expected))
            if not ok:
                return Response(json.dumps({"statusCode": 401, "message": "Access denied due to invalid subscription "
                                            "key or function key."}), status_code=401, media_type="application/json")
            return await call_next(request)  # type: ignore[no-any-return]

        @app.get(PREFIX + "/FetchHashes")
        def fetch_hashes(request: Request) -> Response:
            args = request.query_params
            try:
                start = int(args.get("startTimestamp", "10"))
                size = max(1, min(int(args.get("pageSize", "800")), self.page_size_cap))
            except ValueError:
                return Response(json.dumps({"message": "startTimestamp and pageSize are numbers"}), status_code=400)
            after = _position(args["nextPageToken"]) if args.get("nextPageToken") else None
            if args.get("nextPageToken") and after is None:
                return Response(json.dumps({"message": "invalid nextPageToken"}), status_code=400)
            with self._lock:
                stream = sorted((r for r in self.records.values() if r.modified >= start
                                 and (after is None or (r.modified, r.seq) > after)), key=lambda r: (r.modified, r.seq))
                page, more = stream[:size], len(stream) > size
                body = {"count": len(page), "nextPageToken": _token(page[-1]) if more else None,
                        "hasMoreRecords": more, "nextSetTimestamp": page[-1].modified if page else start,
                        "hashRecords": [r.as_json() for r in page]}
            return Response(json.dumps(body), media_type="application/json")

        @app.post(PREFIX + "/SubmitFeedback")
        async def submit_feedback(request: Request) -> Response:
            try:
                body = await request.json()
                given = [(str(f["hashValue"]), str(f["feedbackValue"]), list(f.get("tags", [])))
                         for f in body["hashFeedbacks"]]
            except (ValueError, KeyError, TypeError):
                return Response(json.dumps({"message": "expected count and hashFeedbacks"}), status_code=400)
            with self._lock:
                for value, verdict, tags in given:
                    self.feedback.append({"hashValue": value, "feedbackValue": verdict, "tags": tags})
                    for record in self.records.values():
                        if record.value == value:
                            record.feedback = [f for f in record.feedback if f["source"] != self.csp_name]
                            record.feedback.append({"feedbackValue": verdict, "tags": tags, "source": self.csp_name})
                            self._seq += 1
                            record.modified, record.seq = int(self.clock().timestamp()), self._seq
            return Response(json.dumps({"count": len(given)}), media_type="application/json")

        return app
