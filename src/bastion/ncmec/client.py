"""HTTP client for the NCMEC CyberTipline reporting API.

Design points, each a deliberate choice:

* **Test by default.** Production needs ``environment="production"`` *and* an
  explicit ``base_url``; the test environment refuses the production URL. A
  misconfigured worker therefore cannot file real reports by accident.
* **Validate before sending.** Report and fileDetails documents are rendered
  and checked against Bastion's XSD; an invalid document raises
  :class:`~bastion.ncmec.errors.ReportValidationError` and nothing is sent.
* **Retry only what is safe.** ``status`` and ``xsd`` are retried with
  exponential backoff and jitter. State-changing calls are never retried: a
  transport failure raises :class:`~bastion.ncmec.errors.NcmecUncertainError`
  so the lifecycle layer can reconcile (see docs/ncmec.md).
* **Stream uploads.** Files are sent chunk by chunk and hashed on the way; the
  MD5 NCMEC returns must match or :class:`UploadIntegrityError` is raised.
* **Log for audit, never leak.** Every reply is logged with its ``Request-ID``
  through stdlib logging (``extra=`` keys prefixed ``ncmec_``). Credentials,
  file bytes and file names are never logged.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import urlsplit

import httpx
from lxml import etree

from bastion.ncmec.errors import (
    NcmecAuthError,
    NcmecError,
    NcmecProtocolError,
    NcmecUnavailableError,
    NcmecUncertainError,
    UploadIntegrityError,
    error_for_code,
)
from bastion.ncmec.model import FileDetails, Report
from bastion.ncmec.results import (
    FileInfoResult,
    FinishResult,
    RetractResult,
    StatusResult,
    SubmitResult,
    UploadResult,
)
from bastion.ncmec.upload import MultipartUpload, UploadSource
from bastion.ncmec.xml import ReplyDocument, parse_reply, parse_untrusted, render, validate_document

__all__ = [
    "DEFAULT_TIMEOUT",
    "PRODUCTION_BASE_URL",
    "TEST_BASE_URL",
    "CyberTiplineClient",
    "Environment",
]

TEST_BASE_URL = "https://exttest.cybertip.org/ispws"
PRODUCTION_BASE_URL = "https://report.cybertip.org/ispws"

#: Generous write timeout: uploads of large videos go through it chunk by chunk.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=120.0, pool=10.0)

_MAX_REPLY_BYTES = 4 * 1024 * 1024

#: The slowest rates an upload is allowed: sending, and NCMEC reading and hashing before it replies.
UPLOAD_SEND_BYTES_PER_SECOND = 1024 * 1024
UPLOAD_REPLY_BYTES_PER_SECOND = 4 * 1024 * 1024


def upload_timeout(size: int | None) -> httpx.Timeout:
    """Timeouts that grow with the file: a large video must not lose its reply to a fixed 60 s read limit."""
    if not size:
        return DEFAULT_TIMEOUT
    return httpx.Timeout(connect=10.0, pool=10.0,
                         write=max(120.0, size / UPLOAD_SEND_BYTES_PER_SECOND),
                         read=60.0 + size / UPLOAD_REPLY_BYTES_PER_SECOND)
_XML_CONTENT_TYPE = "text/xml; charset=utf-8"
_RETRYABLE_HTTP = frozenset({502, 503, 504})
# Failures raised before any byte of the request can have left this process.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)

_log = logging.getLogger("bastion.ncmec.client")


class Environment(StrEnum):
    """NCMEC's two environments; they have separate credentials."""

    TEST = "test"
    PRODUCTION = "production"


def _normalised(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"


def _resolve_base_url(environment: Environment, base_url: str | None) -> str:
    if environment is Environment.PRODUCTION:
        if base_url is None:
            raise ValueError(
                "the production environment must be configured explicitly: pass "
                f"base_url={PRODUCTION_BASE_URL!r} together with environment='production'"
            )
        if urlsplit(base_url).scheme != "https":
            raise ValueError("production base_url must use https")
        return base_url.rstrip("/")
    url = base_url or TEST_BASE_URL
    if _normalised(url) == _normalised(PRODUCTION_BASE_URL):
        raise ValueError("the production URL was given with environment='test'; set environment='production'")
    return url.rstrip("/")


@dataclass(frozen=True, slots=True)
class _Reply:
    document: ReplyDocument
    request_id: str | None
    http_status: int


class CyberTiplineClient:
    """Synchronous client; one instance per credential set, safe to share across threads.

    ``transport`` and ``sleep`` exist for tests (``httpx.MockTransport``, a
    recording sleep) so that retry behaviour is checked without waiting.
    """

    def __init__(
        self,
        username: str,
        password: str,
        *,
        environment: Environment | str = Environment.TEST,
        base_url: str | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        status_retries: int = 3,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 8.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not username or not password:
            raise ValueError("NCMEC username and password are required")
        self.environment = Environment(environment)
        self.base_url = _resolve_base_url(self.environment, base_url)
        self._status_retries = max(0, status_retries)
        self._backoff = backoff_seconds
        self._max_backoff = max_backoff_seconds
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url,
            auth=httpx.BasicAuth(username, password),
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": "bastion-ncmec/1"},
            follow_redirects=False,  # a redirect would re-send credentials somewhere unvetted
        )

    def __repr__(self) -> str:  # never shows credentials
        return f"CyberTiplineClient(environment={self.environment.value!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- endpoints ----------------------------------------------------------------

    def status(self) -> StatusResult:
        """``GET /status``: checks reachability and credentials. Retried."""
        reply = self._call("status", "GET", "/status", idempotent=True)
        return StatusResult(description=reply.document.description or "", request_id=reply.request_id)

    def xsd(self) -> bytes:
        """``GET /xsd``: NCMEC's authoritative schema, to diff against Bastion's. Retried."""
        status, headers, body = self._exchange("xsd", "GET", "/xsd", idempotent=True)
        request_id = headers.get("Request-ID")
        if status == 401:
            raise NcmecAuthError("credentials refused (HTTP 401)", code=None, http_status=401, request_id=request_id)
        if status != 200:
            raise NcmecProtocolError(f"GET /xsd answered HTTP {status}", http_status=status, request_id=request_id)
        return body

    def submit(self, report: Report | bytes) -> SubmitResult:
        """``POST /submit``: opens a report. Never retried.

        Accepts a model, or bytes already rendered (e.g. the exact document
        kept for audit); both are validated against the XSD first.
        """
        body, _ = self._document_bytes(report, "report")
        reply = self._call("submit", "POST", "/submit", content=body, headers={"Content-Type": _XML_CONTENT_TYPE})
        report_id = self._require(reply, "reportId", reply.document.report_id)
        return SubmitResult(report_id=report_id, request_id=reply.request_id)

    def upload(
        self,
        report_id: int,
        source: UploadSource,
        *,
        filename: str = "file",
        content_type: str = "application/octet-stream",
    ) -> UploadResult:
        """``POST /upload``: streams one file into an open report. Never retried.

        ``source`` is a binary file object (read from its current position) or
        an iterator of byte chunks; whole ``bytes`` values are refused so that
        large evidence is never loaded into memory.
        """
        body = MultipartUpload(report_id, source, filename=filename, content_type=content_type)
        headers = {"Content-Type": body.content_type}
        if body.content_length is not None:
            headers["Content-Length"] = str(body.content_length)
        reply = self._call("upload", "POST", "/upload", content=body, headers=headers, report_id=report_id,
                           timeout=upload_timeout(body.content_length))
        file_id = self._require(reply, "fileId", reply.document.file_id)
        received = self._require(reply, "hash", reply.document.md5).lower()
        if received != body.md5:
            _log.error(
                "ncmec upload: MD5 mismatch",
                extra=self._extra("upload", reply, report_id=report_id, file_id=file_id, expected_md5=body.md5),
            )
            raise UploadIntegrityError(
                file_id=file_id,
                expected_md5=body.md5,
                received_md5=received,
                request_id=reply.request_id,
                report_id=report_id,
            )
        return UploadResult(
            file_id=file_id, md5=body.md5, request_id=reply.request_id, report_id=report_id, size=body.size
        )

    def fileinfo(self, details: FileDetails | bytes) -> FileInfoResult:
        """``POST /fileinfo``: describes an uploaded file. Never retried."""
        body, root = self._document_bytes(details, "fileDetails")
        # The document is schema-valid, so both elements are present.
        report_id = int(root.findtext("reportId", ""))
        file_id = root.findtext("fileId") or ""
        reply = self._call(
            "fileinfo", "POST", "/fileinfo", content=body, headers={"Content-Type": _XML_CONTENT_TYPE},
            report_id=report_id,
        )
        return FileInfoResult(
            report_id=reply.document.report_id or report_id,
            file_id=reply.document.file_id or file_id,
            request_id=reply.request_id,
        )

    def finish(self, report_id: int) -> FinishResult:
        """``POST /finish``: files the report with NCMEC. Irreversible; never retried."""
        reply = self._call("finish", "POST", "/finish", data={"id": str(int(report_id))}, report_id=report_id)
        return FinishResult(
            report_id=reply.document.report_id or report_id,
            file_ids=reply.document.file_ids,
            request_id=reply.request_id,
        )

    def retract(self, report_id: int) -> RetractResult:
        """``POST /retract``: cancels an unfinished report. Never retried."""
        reply = self._call("retract", "POST", "/retract", data={"id": str(int(report_id))}, report_id=report_id)
        return RetractResult(report_id=reply.document.report_id or report_id, request_id=reply.request_id)

    # -- internals ------------------------------------------------------------------

    @staticmethod
    def _document_bytes(
        document: Report | FileDetails | bytes, root: Literal["report", "fileDetails"]
    ) -> tuple[bytes, etree._Element]:
        """The exact bytes to send, validated, and their parsed root."""
        if isinstance(document, (bytes, bytearray)):
            data = bytes(document)
            return data, validate_document(data, expected_root=root)
        if document.xml_tag != root:
            raise TypeError(f"expected a {root} document, got {type(document).__name__}")
        data = render(document)  # validates
        return data, parse_untrusted(data)

    def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        idempotent: bool = False,
        report_id: int | None = None,
        **request: Any,
    ) -> _Reply:
        """Send, interpret the reply, log it; raise the typed error for non-zero codes."""
        status, headers, body = self._exchange(
            operation, method, path, idempotent=idempotent, report_id=report_id, **request
        )
        request_id = headers.get("Request-ID")
        if status == 401:
            error: NcmecError = NcmecAuthError(
                "credentials refused (HTTP 401)", code=None, http_status=401, request_id=request_id, report_id=report_id
            )
            self._log_error(operation, error)
            raise error
        try:
            document = parse_reply(body)
        except NcmecProtocolError as exc:
            if not idempotent and status >= 500:
                # A gateway error on a state-changing call says nothing about whether NCMEC acted.
                error = NcmecUncertainError(
                    f"{operation}: HTTP {status} without a CyberTipline reply",
                    operation=operation, request_sent=True, http_status=status,
                    request_id=request_id, report_id=report_id,
                )
            else:
                error = NcmecProtocolError(
                    f"{operation}: {exc.description} (HTTP {status})",
                    http_status=status, request_id=request_id, report_id=report_id,
                )
            self._log_error(operation, error)
            raise error from None
        reply = _Reply(document, request_id, status)
        if document.response_code != 0:
            error = error_for_code(
                document.response_code,
                document.description,
                request_id=request_id,
                http_status=status,
                report_id=document.report_id or report_id,
            )
            self._log_error(operation, error)
            raise error
        _log.info(
            "ncmec %s: ok", operation, extra=self._extra(operation, reply, report_id=document.report_id or report_id)
        )
        return reply

    def _exchange(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        idempotent: bool,
        report_id: int | None = None,
        **request: Any,
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One HTTP exchange (several attempts when idempotent). Returns status, headers, capped body."""
        attempts = 1 + (self._status_retries if idempotent else 0)
        for attempt in range(1, attempts + 1):
            try:
                with self._http.stream(method, path, **request) as response:
                    body = _read_capped(response)
                    status, headers = response.status_code, response.headers
            except NcmecProtocolError as refused:
                self._log_error(operation, refused)
                raise
            except httpx.TransportError as exc:
                sent = not isinstance(exc, _NOT_SENT)
                if attempt < attempts:
                    self._pause(operation, attempt, reason=type(exc).__name__)
                    continue
                if idempotent:
                    error: NcmecError = NcmecUnavailableError(
                        f"{operation}: NCMEC unreachable after {attempts} attempts ({type(exc).__name__})"
                    )
                else:
                    error = NcmecUncertainError(
                        f"{operation}: transport failure ({type(exc).__name__}); outcome unknown"
                        if sent else f"{operation}: connection failed ({type(exc).__name__}); nothing was sent",
                        operation=operation, request_sent=sent, report_id=report_id,
                    )
                self._log_error(operation, error)
                raise error from exc
            if idempotent and status in _RETRYABLE_HTTP and attempt < attempts:
                self._pause(operation, attempt, reason=f"HTTP {status}", request_id=headers.get("Request-ID"))
                continue
            return status, headers, body
        raise AssertionError("unreachable")  # pragma: no cover

    def _pause(self, operation: str, attempt: int, *, reason: str, request_id: str | None = None) -> None:
        # Full jitter: spreads retries of many workers instead of synchronising them.
        delay = random.uniform(0, min(self._max_backoff, self._backoff * 2 ** (attempt - 1)))
        _log.warning(
            "ncmec %s: attempt %d failed (%s); retrying",
            operation, attempt, reason,
            extra={"ncmec_operation": operation, "ncmec_attempt": attempt, "ncmec_request_id": request_id,
                   "ncmec_environment": self.environment.value, "ncmec_retry_delay": round(delay, 3)},
        )
        self._sleep(delay)

    def _extra(self, operation: str, reply: _Reply, **fields: object) -> dict[str, object]:
        extra: dict[str, object] = {
            "ncmec_operation": operation,
            "ncmec_environment": self.environment.value,
            "ncmec_request_id": reply.request_id,
            "ncmec_http_status": reply.http_status,
            "ncmec_response_code": reply.document.response_code,
        }
        extra.update({f"ncmec_{key}": value for key, value in fields.items() if value is not None})
        return extra

    def _log_error(self, operation: str, error: NcmecError) -> None:
        _log.warning(
            "ncmec %s: %s",
            operation, error,
            extra={
                "ncmec_operation": operation,
                "ncmec_environment": self.environment.value,
                "ncmec_request_id": error.request_id,
                "ncmec_http_status": error.http_status,
                "ncmec_response_code": error.code,
                "ncmec_report_id": error.report_id,
                "ncmec_error": type(error).__name__,
            },
        )

    @staticmethod
    def _require(reply: _Reply, tag: str, value: Any) -> Any:
        if value is None or value == "":
            raise NcmecProtocolError(f"successful reply lacks <{tag}>", request_id=reply.request_id)
        return value


def _read_capped(response: httpx.Response) -> bytes:
    """Read the body, refusing replies too large to be a CyberTipline document."""
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > _MAX_REPLY_BYTES:
            raise NcmecProtocolError(
                f"reply larger than {_MAX_REPLY_BYTES} bytes", http_status=response.status_code,
                request_id=response.headers.get("Request-ID"),
            )
        chunks.append(chunk)
    return b"".join(chunks)


