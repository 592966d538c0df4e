"""Local stand-ins for hash exchanges: NCMEC's hash-sharing API and a hash list served at a URL.

(StopNCII, ThreatExchange and TCAP have their own modules, `stopncii`, `threatexchange` and
`tcap`; `serve_exchanges` runs all five.)

For development and tests only; they serve seeded benign hashes (generated, never of
abusive material) on loopback.

`NcmecHashStandin` follows NCMEC's published hash-sharing API v2 as python-threatexchange's
client (`threatexchange.exchanges.clients.ncmec.hash_api`) calls it: HTTP basic auth,
`GET /v2/status` (who am I), `GET /v2/entries?from=&to=` answering a `queryResult`
document of `images`/`videos` (entries and `deleted…` tombstones, each with `maxTimestamp`)
and a `paging/next` path carrying `start`, `size` and `max`; `GET /v2/feedback/<type>/reasons` and
`PUT /v2/entries/<member>/<entry>/<type>/feedback` (an `affirmative` or `negative` vote, the latter
with a reason guid) take members' feedback. Each entry is served once, in
its latest state, in the time window holding its latest change. Where the published text
leaves it open, the stand-in picks a reading and says so: windows are half-open
(`from` <= t < `to`), and pages are in order of change.

`UrlListStandin` serves hash lists at `/lists/<name>` behind no auth, basic or bearer,
with a strong ETag and Last-Modified, answering 304 to a matching conditional request.

Both keep a request log (path, query and which auth scheme was used, never the secret),
and can be told to fail: the next N requests answer a chosen status.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from fastapi import FastAPI, Request, Response

from bastion.dev.serving import BackgroundServer, Failures

NAMESPACE = "https://hashsharing.ncmec.org/hashsharing/v2"
DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
PREFIX = "/hashsharing"
#: the one negative-feedback reason the stand-in offers (so the client picks it without being told)
NEGATIVE_REASON_GUID = "6f1f1d3e-0000-4000-8000-00000000b001"


def _format(when: datetime) -> str:
    return when.astimezone(UTC).strftime(DATE_FORMAT)


def _parse(text: str) -> datetime:
    return datetime.strptime(text, DATE_FORMAT).replace(tzinfo=UTC)


@dataclass
class Entry:
    id: str
    member_id: int
    member_name: str
    entry_type: str  # image | video
    classification: str
    fingerprints: dict[str, str]
    timestamp: datetime
    seq: int
    deleted: bool = False


class NcmecHashStandin(BackgroundServer):
    """NCMEC's hash-sharing API on a loopback port; mutate it between fetches to test increments."""

    def __init__(self, username: str, password: str, *, clock: Callable[[], datetime], member_id: int = 7,
                 member_name: str = "Bastion Test ESP", page_size: int = 5, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.username, self.password = username, password
        self.clock, self.member_id, self.member_name, self.page_size = clock, member_id, member_name, page_size
        self.entries: dict[str, Entry] = {}
        self.requests: list[dict[str, str]] = []
        self.failures = Failures()
        #: feedback members sent: member, entry, fingerprint type, vote, reasons
        self.feedback: list[dict[str, Any]] = []
        #: called with each request's path and query before it is answered (tests use it to act mid-fetch)
        self.on_request: Callable[[str, str], None] | None = None
        self._seq = 0
        self._lock = threading.Lock()
        super().__init__(self._app(), host=host, port=port)

    @property
    def base_url(self) -> str:
        return self.origin + PREFIX

    # -- seeding and changes -------------------------------------------------------------

    def put(self, entry_id: str, fingerprints: dict[str, str], *, classification: str = "A1",
            entry_type: str = "image", member_id: int | None = None, at: datetime | None = None) -> Entry:
        """Add or change an entry; its change time is `at` (default: now on the stand-in's clock)."""
        with self._lock:
            self._seq += 1
            entry = Entry(entry_id, member_id or self.member_id, f"Member {member_id or self.member_id}", entry_type,
                          classification, dict(fingerprints), at or self.clock(), self._seq)
            self.entries[entry_id] = entry
            return entry

    def delete(self, entry_id: str, *, at: datetime | None = None) -> None:
        with self._lock:
            self._seq += 1
            entry = self.entries[entry_id]
            entry.deleted, entry.fingerprints, entry.timestamp, entry.seq = True, {}, at or self.clock(), self._seq

    # -- the API ---------------------------------------------------------------------------

    def _authorised(self, request: Request) -> bool:
        return _basic_auth_ok(request.headers.get("authorization", ""), self.username, self.password)

    def _app(self) -> FastAPI:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

        @app.middleware("http")
        async def gate(request: Request, call_next: Any) -> Response:
            self.requests.append({"path": request.url.path, "query": request.url.query,
                                  "auth": request.headers.get("authorization", " ").split(" ", 1)[0]})
            if self.on_request is not None:
                self.on_request(request.url.path, request.url.query)
            failure = self.failures.take()
            if failure is not None:
                return Response(f"stand-in told to fail ({failure})", status_code=failure)
            if not self._authorised(request):
                return Response("Unauthorized", status_code=401, headers={"WWW-Authenticate": 'Basic realm="hashsharing"'})
            return await call_next(request)  # type: ignore[no-any-return]

        @app.get(PREFIX + "/v2/status")
        def status() -> Response:
            body = (f'<?xml version="1.0" encoding="UTF-8"?><status xmlns="{NAMESPACE}">'
                    f"<member id=\"{self.member_id}\">{escape(self.member_name)}</member></status>")
            return Response(body, media_type="application/xml")

        @app.get(PREFIX + "/v2/entries")
        def entries(request: Request) -> Response:
            args = request.query_params
            try:
                start_at, end_at = _parse(args["from"]), _parse(args["to"])
                start, size = int(args.get("start", 0)), int(args.get("size", self.page_size))
            except (KeyError, ValueError):
                return Response("from and to are required, as yyyy-MM-ddTHH:mm:ssZ", status_code=400)
            with self._lock:
                window = sorted((e for e in self.entries.values() if start_at <= e.timestamp < end_at),
                                key=lambda e: e.seq)
            page = window[start:start + size]
            parts = [f'<?xml version="1.0" encoding="UTF-8"?><queryResult xmlns="{NAMESPACE}">']
            for kind in ("image", "video"):
                chosen = [e for e in page if e.entry_type == kind]
                if not chosen:
                    continue
                newest = max(e.timestamp for e in chosen)
                parts.append(f'<{kind}s count="{len(chosen)}" maxTimestamp="{_format(newest)}">')
                parts.extend(_entry_xml(e) for e in chosen)
                parts.append(f"</{kind}s>")
            if start + size < len(window):
                following = (f"/v2/entries?from={args['from']}&to={args['to']}&start={start + size}&size={size}"
                             f"&max={len(window)}")
                parts.append(f"<paging><next>{escape(following)}</next></paging>")
            parts.append("</queryResult>")
            return Response("".join(parts), media_type="application/xml")

        @app.get(PREFIX + "/v2/feedback/{fingerprint}/reasons")
        def feedback_reasons(fingerprint: str) -> Response:
            body = (f'<?xml version="1.0" encoding="UTF-8"?><feedbackReasons xmlns="{NAMESPACE}">'
                    f'<availableFeedbackReasons><reason guid="{NEGATIVE_REASON_GUID}" '
                    f'name="Not the described content" type={quoteattr(fingerprint)}/>'
                    "</availableFeedbackReasons></feedbackReasons>")
            return Response(body, media_type="application/xml")

        @app.put(PREFIX + "/v2/entries/{member_id}/{entry_id}/{fingerprint}/feedback")
        async def feedback(member_id: int, entry_id: str, fingerprint: str, request: Request) -> Response:
            try:
                root = ElementTree.fromstring(await request.body())
            except ElementTree.ParseError:
                return Response("the body must be a feedbackSubmission document", status_code=400)
            tags = [child.tag.rpartition("}")[2] for child in root]
            reasons = [g.text or "" for g in root.iter() if g.tag.rpartition("}")[2] == "guid"]
            if root.tag.rpartition("}")[2] != "feedbackSubmission" or tags not in (["affirmative"], ["negative"]):
                return Response("expected one affirmative or negative element", status_code=400)
            if tags == ["negative"] and reasons != [NEGATIVE_REASON_GUID]:
                return Response("a negative feedback needs a known reason guid", status_code=400)
            with self._lock:
                entry = self.entries.get(entry_id)
                if entry is None or entry.member_id != member_id or entry.deleted:
                    return Response("no such entry", status_code=404)
                self.feedback.append({"member_id": member_id, "entry_id": entry_id, "fingerprint": fingerprint,
                                      "vote": tags[0], "reasons": reasons})
            return Response(status_code=200)

        return app


def _entry_xml(entry: Entry) -> str:
    tag = ("deleted" + entry.entry_type.capitalize()) if entry.deleted else entry.entry_type
    member = f"<member id={quoteattr(str(entry.member_id))}>{escape(entry.member_name)}</member>"
    body = f"<id>{escape(entry.id)}</id>{member}<timestamp>{_format(entry.timestamp)}</timestamp>"
    if not entry.deleted:
        if entry.classification:
            body += f"<classification>{escape(entry.classification)}</classification>"
        body += "<fingerprints>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in entry.fingerprints.items()) + \
            "</fingerprints>"
    return f"<{tag}>{body}</{tag}>"


@dataclass
class HashList:
    body: bytes
    modified: datetime
    auth: str = "none"  # none | basic | bearer
    user: str = ""
    secret: str = ""  # the basic password or the bearer token
    etag_header: bool = True  # some servers send only Last-Modified

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


class UrlListStandin(BackgroundServer):
    """Hash lists at `/lists/<name>`, with auth, ETag/Last-Modified and 304s."""

    def __init__(self, *, clock: Callable[[], datetime], host: str = "127.0.0.1", port: int = 0) -> None:
        self.clock = clock
        self.lists: dict[str, HashList] = {}
        self.requests: list[dict[str, str]] = []
        self.failures = Failures()
        super().__init__(self._app(), host=host, port=port)

    def publish(self, name: str, text: str, *, auth: str = "none", user: str = "", secret: str = "",
                etag: bool = True) -> str:
        """Put (or replace) a list; returns its URL. `etag=False`: the list is served with Last-Modified only."""
        self.lists[name] = HashList(text.encode(), self.clock().replace(microsecond=0), auth, user, secret, etag)
        return f"{self.origin}/lists/{name}"

    def _allowed(self, hashes: HashList, header: str) -> bool:
        if hashes.auth == "none":
            return True
        if hashes.auth == "bearer":
            return header.startswith("Bearer ") and secrets.compare_digest(header[7:], hashes.secret)
        return _basic_auth_ok(header, hashes.user, hashes.secret)

    def _app(self) -> FastAPI:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

        @app.get("/lists/{name}")
        def get_list(name: str, request: Request) -> Response:
            header = request.headers.get("authorization", "")
            self.requests.append({"path": request.url.path, "auth": header.split(" ", 1)[0] if header else "",
                                  "if_none_match": request.headers.get("if-none-match", ""),
                                  "if_modified_since": request.headers.get("if-modified-since", "")})
            failure = self.failures.take()
            if failure is not None:
                return Response("stand-in told to fail", status_code=failure)
            hashes = self.lists.get(name)
            if hashes is None:
                return Response("no such list", status_code=404)
            if not self._allowed(hashes, header):
                return Response("Unauthorized", status_code=401)
            headers = {"Last-Modified": format_datetime(hashes.modified, usegmt=True)}
            if hashes.etag_header:
                headers["ETag"] = hashes.etag
            match = request.headers.get("if-none-match") if hashes.etag_header else None
            since = request.headers.get("if-modified-since")
            if match is not None:
                if match == hashes.etag:
                    return Response(status_code=304, headers=headers)
            elif since is not None:
                try:
                    if hashes.modified <= parsedate_to_datetime(since):
                        return Response(status_code=304, headers=headers)
                except (TypeError, ValueError):
                    pass
            return Response(hashes.body, media_type="text/plain", headers=headers)

        return app


#: The StopNCII stand-in's keys and the ThreatExchange stand-in's app token and privacy group (loopback only).
DEV_STOPNCII_KEYS = {"subscription_key": "dev-stopncii-subscription", "fetch_key": "dev-stopncii-fetch",
                     "feedback_key": "dev-stopncii-feedback"}
DEV_TE_TOKEN, DEV_TE_GROUP = "10000001|bastion-dev-threatexchange-token", 1000


def serve_exchanges(host: str, ncmec_port: int, list_port: int, username: str, password: str,
                    say: Callable[[str], None], stop: threading.Event | None = None, *, stopncii_port: int = 0,
                    te_port: int = 0, tcap_port: int = 0) -> None:
    """Run the stand-ins, seeded with a few random (benign) hashes, until interrupted (or `stop` is set)."""
    import random

    from bastion.dev.stopncii import StopNCIIStandin
    from bastion.dev.tcap import TcapStandin
    from bastion.dev.threatexchange import ThreatExchangeStandin

    rng = random.Random(18)
    now = lambda: datetime.now(UTC)  # noqa: E731
    ncmec = NcmecHashStandin(username, password, clock=now, host=host, port=ncmec_port)
    lists = UrlListStandin(clock=now, host=host, port=list_port)
    stop_ncii = StopNCIIStandin(*DEV_STOPNCII_KEYS.values(), clock=now, host=host, port=stopncii_port)
    graph = ThreatExchangeStandin(DEV_TE_TOKEN, DEV_TE_GROUP, clock=now, host=host, port=te_port)
    tat = TcapStandin(username, password, clock=now, host=host, port=tcap_port)
    with ncmec, lists, stop_ncii, graph, tat:
        an_hour_ago = now().replace(microsecond=0) - timedelta(hours=1)
        for n in range(20):
            ncmec.put(f"demo-{n}", {"pdq": f"{rng.getrandbits(256):064x}", "md5": f"{rng.getrandbits(128):032x}"},
                      at=an_hour_ago)
            stop_ncii.put(f"{rng.getrandbits(256):064x}", at=an_hour_ago)
            graph.put(f"{rng.getrandbits(256):064x}", at=an_hour_ago)
            tat.put(f"{rng.getrandbits(256):064x}", at=an_hour_ago)
        url = lists.publish("demo", "".join(f"pdq {rng.getrandbits(256):064x}\n" for _ in range(20)))
        say(f"NCMEC hash-sharing stand-in: base_url={ncmec.base_url} user={username} (environment=test_Industry)")
        say(f"URL list stand-in: url={url} format=te auth=none")
        say(f"StopNCII stand-in: base_url={stop_ncii.base_url} "
            + " ".join(f"{k}={v}" for k, v in DEV_STOPNCII_KEYS.items()))
        say(f"ThreatExchange stand-in: base_url={graph.base_url} privacy_group={DEV_TE_GROUP} token={DEV_TE_TOKEN}")
        say(f"TCAP stand-in: base_url={tat.base_url} user={username}")
        say("Bastion reaches them only with BASTION_EXCHANGE_ALLOWED_NETWORKS=127.0.0.0/8. Ctrl-C stops.")
        waiter = stop or threading.Event()
        try:
            while not waiter.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass


def _basic_auth_ok(header: str, user: str, password: str) -> bool:
    """Whether an Authorization header carries exactly this basic-auth user and password."""
    if not header.startswith("Basic "):
        return False
    try:
        given_user, _, given_password = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    return secrets.compare_digest(given_user, user) and secrets.compare_digest(given_password, password)
