"""A faithful local stand-in for the CyberTipline reporting API.

For development and tests only: it speaks the same endpoints, response codes
and ``reportResponse`` documents as NCMEC, enforces HTTP Basic auth, validates
every document against Bastion's XSD, enforces the order of calls and expires
unfinished reports on NCMEC's rule. It never keeps uploaded bytes: a file is
hashed while it streams in and only its MD5 and size are stored.

Where NCMEC's behaviour is not publicly documented the stand-in picks the
plausible reading and says so (see docs/ncmec.md, "Stand-in fidelity").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import secrets
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.clock import Clock as ProjectClock
from bastion.dev.serving import BackgroundServer, RequestIdMiddleware, serve_foreground
from bastion.ncmec.codes import ResponseCode
from bastion.ncmec.errors import (
    FileDoesNotExistError,
    MalformedFileError,
    NcmecError,
    NcmecRequestError,
    ReportAlreadyFinishedError,
    ReportAlreadyRetractedError,
    ReportDoesNotExistError,
)
from bastion.ncmec.xml import (
    render_report_done_response,
    render_report_response,
    schema_bytes,
    validate_document,
)

__all__ = [
    "API_PREFIX",
    "UNFINISHED_IDLE_LIFETIME",
    "UNFINISHED_MIN_LIFETIME",
    "Clock",
    "ReportState",
    "StandinServer",
    "StandinState",
    "create_standin_app",
    "serve_standin",
]

#: A callable returning an aware UTC datetime, or a :class:`bastion.clock.Clock`.
Clock = Callable[[], datetime] | ProjectClock

#: Path prefix, as on NCMEC's hosts (``https://exttest.cybertip.org/ispws``).
API_PREFIX = "/ispws"
#: An unfinished report lives at least this long after it was opened ...
UNFINISHED_MIN_LIFETIME = timedelta(hours=24)
#: ... and at least this long after its last change, whichever ends later.
UNFINISHED_IDLE_LIFETIME = timedelta(hours=1)

_MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
_READ_CHUNK = 64 * 1024
_XML_MEDIA_TYPE = "application/xml"

_log = logging.getLogger("bastion.dev.ncmec")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _as_callable(clock: Clock | None) -> Callable[[], datetime]:
    """Accept Bastion's ``Clock`` protocol (``.now()``) or a bare callable."""
    if clock is None:
        return _utc_now
    now = getattr(clock, "now", None)
    return now if callable(now) else clock  # type: ignore[return-value]


# -- state -------------------------------------------------------------------------


class ReportState(StrEnum):
    OPEN = "open"
    FINISHED = "finished"
    RETRACTED = "retracted"


@dataclass
class _StoredFile:
    file_id: str
    md5: str
    size: int
    described: bool = False


@dataclass
class _StoredReport:
    report_id: int
    opened_at: datetime
    last_change: datetime
    state: ReportState = ReportState.OPEN
    files: dict[str, _StoredFile] = field(default_factory=dict)

    def expires_at(self) -> datetime:
        return max(self.opened_at + UNFINISHED_MIN_LIFETIME, self.last_change + UNFINISHED_IDLE_LIFETIME)


class StandinState:
    """The in-memory CyberTipline. Each public method is one atomic transition.

    Transitions raise the same typed errors the client raises, so the HTTP
    layer only has to turn ``error.code`` into a reply.
    """

    def __init__(self, clock: Clock | None = None, *, first_report_id: int = 1_000_001) -> None:
        self._clock = _as_callable(clock)
        self._lock = threading.Lock()
        self._reports: dict[int, _StoredReport] = {}
        self._next_id = first_report_id

    def now(self) -> datetime:
        """The stand-in's time: what it files documents at (their timestamps may not be later)."""
        return self._now()

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None or now.utcoffset() is None:
            raise TypeError("the stand-in clock must return an aware datetime")
        return now

    def _expire(self, now: datetime) -> None:
        # NCMEC deletes unfinished reports; afterwards they simply do not exist.
        expired = [r.report_id for r in self._reports.values() if r.state is ReportState.OPEN and now >= r.expires_at()]
        for report_id in expired:
            del self._reports[report_id]
            _log.info("stand-in: report expired unfinished", extra={"ncmec_report_id": report_id})

    def _open_report(self, report_id: int, now: datetime) -> _StoredReport:
        self._expire(now)
        report = self._reports.get(report_id)
        if report is None:
            raise ReportDoesNotExistError("Report does not exist", report_id=report_id)
        if report.state is ReportState.RETRACTED:
            raise ReportAlreadyRetractedError("Report already retracted", report_id=report_id)
        if report.state is ReportState.FINISHED:
            raise ReportAlreadyFinishedError("Report already finished", report_id=report_id)
        return report

    def open(self) -> int:
        with self._lock:
            now = self._now()
            self._expire(now)
            report_id = self._next_id
            self._next_id += 1
            self._reports[report_id] = _StoredReport(report_id, opened_at=now, last_change=now)
            return report_id

    def ensure_open(self, report_id: int) -> None:
        """Refuse early (before a file streams in) when the report cannot take changes."""
        with self._lock:
            self._open_report(report_id, self._now())

    def add_file(self, report_id: int, *, md5: str, size: int) -> str:
        with self._lock:
            now = self._now()
            report = self._open_report(report_id, now)  # re-checked: state may have moved while streaming
            file_id = uuid.uuid4().hex
            report.files[file_id] = _StoredFile(file_id, md5, size)
            report.last_change = now
            return file_id

    def describe_file(self, report_id: int, file_id: str) -> None:
        with self._lock:
            now = self._now()
            report = self._open_report(report_id, now)
            stored = report.files.get(file_id)
            if stored is None:
                raise FileDoesNotExistError("File does not exist", report_id=report_id)
            stored.described = True
            report.last_change = now

    def finish(self, report_id: int) -> list[str]:
        with self._lock:
            now = self._now()
            report = self._open_report(report_id, now)
            report.state = ReportState.FINISHED
            report.last_change = now
            return list(report.files)

    def retract(self, report_id: int) -> None:
        with self._lock:
            now = self._now()
            report = self._open_report(report_id, now)
            report.state = ReportState.RETRACTED
            report.last_change = now

    def report_state(self, report_id: int) -> ReportState | None:
        """For tests and the dev UI: None once a report expired or never existed."""
        with self._lock:
            self._expire(self._now())
            report = self._reports.get(report_id)
            return report.state if report else None

    def file_md5(self, report_id: int, file_id: str) -> str | None:
        with self._lock:
            report = self._reports.get(report_id)
            stored = report.files.get(file_id) if report else None
            return stored.md5 if stored else None


# -- ASGI plumbing --------------------------------------------------------------------


class _BasicAuthMiddleware:
    """HTTP Basic auth on every path; a failure is a bare 401, as NCMEC answers."""

    def __init__(self, app: ASGIApp, *, username: str, password: str) -> None:
        self.app = app
        self._username = username.encode()
        self._password = password.encode()

    def _authorised(self, header: bytes) -> bool:
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        user, sep, password = decoded.partition(b":")
        # Both comparisons always run: no early exit that would time the username.
        user_ok = secrets.compare_digest(user, self._username)
        password_ok = secrets.compare_digest(password, self._password)
        return bool(sep) and user_ok and password_ok

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = dict(scope["headers"]).get(b"authorization", b"")
            if not self._authorised(header):
                response = Response(status_code=401, headers={"WWW-Authenticate": 'Basic realm="CyberTipline"'})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _xml(body: bytes, status_code: int = 200) -> Response:
    return Response(content=body, status_code=status_code, media_type=_XML_MEDIA_TYPE)


def _coded(error: NcmecError) -> Response:
    """A ``reportResponse`` carrying ``error.code``; HTTP 500 only for server faults."""
    code = error.code if error.code is not None else ResponseCode.SERVER_ERROR
    status = 500 if code < 2000 else 200
    return _xml(render_report_response(code, error.description, report_id=error.report_id), status)


def _report_id(value: object) -> int:
    if not isinstance(value, str) or not value.strip().isdigit():
        raise NcmecRequestError("Invalid request: form field 'id' must be a report id")
    return int(value.strip())


async def _read_document(request: Request) -> bytes:
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > _MAX_DOCUMENT_BYTES:
            raise NcmecRequestError("Invalid request: document too large")
        chunks.append(chunk)
    return b"".join(chunks)


async def _digest(upload: UploadFile) -> tuple[str, int]:
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    while chunk := await upload.read(_READ_CHUNK):
        md5.update(chunk)
        size += len(chunk)
    return md5.hexdigest(), size


@asynccontextmanager
async def _multipart_form(request: Request) -> AsyncIterator[FormData]:
    """The parsed multipart form, its spooled files closed on exit."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise NcmecRequestError("Invalid request: upload must be multipart/form-data")
    try:
        form = await request.form(max_files=1, max_fields=4)
    except (MultiPartException, HTTPException, ValueError) as exc:
        raise MalformedFileError(f"Malformed file submittal: {getattr(exc, 'detail', exc)}") from None
    try:
        yield form
    finally:
        await form.close()


def _guarded(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Turn typed errors into coded replies and anything unexpected into code 1000."""

    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except NcmecError as error:
            _log.info("stand-in %s: code %s", request.url.path, error.code,
                      extra={"ncmec_request_id": request.scope.get("state", {}).get("request_id"),
                             "ncmec_response_code": error.code})
            return _coded(error)
        except Exception:
            _log.exception("stand-in %s: internal error", request.url.path)
            return _coded(NcmecError("Server error", code=ResponseCode.SERVER_ERROR))

    wrapper.__name__ = handler.__name__
    return wrapper


def create_standin_app(username: str, password: str, clock: Clock | None = None) -> FastAPI:
    """Build the stand-in ASGI app.

    ``clock`` (default: the wall clock) is a callable returning an aware UTC
    datetime, or a :class:`bastion.clock.Clock`; tests move it to expire reports.
    """
    if not username or not password:
        raise ValueError("the stand-in needs a username and password, like NCMEC")
    state = StandinState(clock)
    router = APIRouter(prefix=API_PREFIX)

    @router.get("/status")
    @_guarded
    async def status(request: Request) -> Response:
        return _xml(render_report_response(0, f"Remote User : {username}"))

    @router.get("/xsd")
    @_guarded
    async def xsd(request: Request) -> Response:
        return Response(content=schema_bytes(), media_type=_XML_MEDIA_TYPE)

    @router.post("/submit")
    @_guarded
    async def submit(request: Request) -> Response:
        validate_document(await _read_document(request), expected_root="report", now=state.now())
        return _xml(render_report_response(0, "Success", report_id=state.open()))

    @router.post("/upload")
    @_guarded
    async def upload(request: Request) -> Response:
        async with _multipart_form(request) as form:
            report_id = _report_id(form.get("id"))
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise MalformedFileError("Malformed file submittal: no 'file' part", report_id=report_id)
            state.ensure_open(report_id)  # refuse before reading a file that cannot be attached
            md5, size = await _digest(upload)
            if size == 0:
                raise MalformedFileError("Malformed file submittal: empty file", report_id=report_id)
            file_id = state.add_file(report_id, md5=md5, size=size)
        return _xml(render_report_response(0, "Success", report_id=report_id, file_id=file_id, md5=md5))

    @router.post("/fileinfo")
    @_guarded
    async def fileinfo(request: Request) -> Response:
        root = validate_document(await _read_document(request), expected_root="fileDetails", now=state.now())
        report_id = int(root.findtext("reportId", ""))
        file_id = (root.findtext("fileId") or "").strip()
        state.describe_file(report_id, file_id)
        return _xml(render_report_response(0, "Success", report_id=report_id, file_id=file_id))

    @router.post("/finish")
    @_guarded
    async def finish(request: Request) -> Response:
        async with request.form(max_files=0, max_fields=4) as form:
            report_id = _report_id(form.get("id"))
        return _xml(render_report_done_response(report_id, state.finish(report_id)))

    @router.post("/retract")
    @_guarded
    async def retract(request: Request) -> Response:
        async with request.form(max_files=0, max_fields=4) as form:
            report_id = _report_id(form.get("id"))
        state.retract(report_id)
        return _xml(render_report_response(0, "Success", report_id=report_id))

    app = FastAPI(title="CyberTipline stand-in", docs_url=None, redoc_url=None, openapi_url=None)
    app.include_router(router)
    app.state.standin = state
    # Starlette wraps in reverse order: Request-ID is outermost, so 401s carry it too.
    app.add_middleware(_BasicAuthMiddleware, username=username, password=password)
    app.add_middleware(RequestIdMiddleware, header="Request-ID", make_id=lambda: str(uuid.uuid4()))
    return app


# -- running it -----------------------------------------------------------------------


def serve_standin(
    host: str,
    port: int,
    username: str,
    password: str,
    *,
    clock: Clock | None = None,
    log_level: str = "info",
) -> None:
    """Run the stand-in in the foreground (for ``bastion dev ncmec``) until interrupted.

    Point a client at ``http://{host}:{port}/ispws`` with the same credentials.
    """
    app = create_standin_app(username, password, clock)
    _log.info("NCMEC stand-in at http://%s:%d%s", host, port, API_PREFIX)
    serve_foreground(app, host, port, name="NCMEC stand-in", log_level=log_level)


class StandinServer(BackgroundServer):
    """The stand-in on a background thread: ``with StandinServer(user, pw) as s: s.base_url``."""

    def __init__(
        self,
        username: str,
        password: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
    ) -> None:
        self._standin = create_standin_app(username, password, clock)
        super().__init__(self._standin, host=host, port=port)

    @property
    def state(self) -> StandinState:
        state: StandinState = self._standin.state.standin
        return state

    @property
    def base_url(self) -> str:
        """What a client's ``base_url`` should be, prefix included."""
        return self.origin + API_PREFIX
