"""Typed errors for the CyberTipline integration.

The hierarchy is shaped by what the caller must *do*, not by where the error
came from: a document error means "fix the XML" whether lxml caught it here or
NCMEC answered 4100; a state error means the report is not where the lifecycle
thought it was; :class:`NcmecUncertainError` means "we do not know whether
NCMEC acted; reconcile before doing anything else".

Every error carries ``code`` (NCMEC ``responseCode``, or None when no code
applies), ``description`` and ``request_id`` (the ``Request-ID`` header of the
reply, None when nothing was received). Quote the request id to NCMEC support.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bastion.ncmec.codes import ResponseCode, describe

__all__ = [
    "FileDoesNotExistError",
    "MalformedFileError",
    "MalformedXmlError",
    "NcmecAuthError",
    "NcmecError",
    "NcmecProtocolError",
    "NcmecRequestError",
    "NcmecServerError",
    "NcmecUnavailableError",
    "NcmecUncertainError",
    "ReportAlreadyFinishedError",
    "ReportAlreadyRetractedError",
    "ReportDoesNotExistError",
    "ReportStateError",
    "ReportValidationError",
    "UploadIntegrityError",
    "ValidationIssue",
    "error_for_code",
]


class NcmecError(Exception):
    """Root of every error raised by :mod:`bastion.ncmec`."""

    #: Code used when an instance is built without an explicit one.
    default_code: int | None = None

    def __init__(
        self,
        description: str,
        *,
        code: int | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
        report_id: int | None = None,
    ) -> None:
        self.code = code if code is not None else self.default_code
        self.description = description
        self.request_id = request_id
        self.http_status = http_status
        self.report_id = report_id
        super().__init__(self._render())

    def _render(self) -> str:
        parts = [self.description]
        if self.code is not None:
            parts.insert(0, f"[{self.code}]")
        if self.report_id is not None:
            parts.append(f"(report {self.report_id})")
        if self.request_id:
            parts.append(f"(Request-ID {self.request_id})")
        return " ".join(parts)


# -- server-side trouble (1xxx) ---------------------------------------------


class NcmecServerError(NcmecError):
    """NCMEC failed internally (1000-1300). The request may be worth repeating later."""

    default_code = ResponseCode.SERVER_ERROR


# -- credentials and permissions (2xxx, 3xxx, HTTP 401) -----------------------


class NcmecAuthError(NcmecError):
    """Credentials refused or lacking a permission. Never retried: fix configuration."""

    default_code = ResponseCode.AUTHENTICATION_REQUIRED


# -- the request itself is wrong (4xxx) ---------------------------------------


class NcmecRequestError(NcmecError):
    """The request was refused as sent (4000). Repeating it unchanged will fail again."""

    default_code = ResponseCode.INVALID_REQUEST


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One schema violation, located in the rendered (pretty-printed) document."""

    line: int | None
    column: int | None
    element: str | None
    path: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "unknown line"
        if self.element:
            where += f", element <{self.element}>"
        return f"{where}: {self.message}"


class ReportValidationError(NcmecRequestError):
    """The document does not satisfy the schema (4100).

    Raised locally, before anything is sent, with ``issues`` taken from lxml's
    error log (``request_id`` is then None); or from NCMEC's 4100 reply, whose
    description is the only detail available.
    """

    default_code = ResponseCode.VALIDATION_FAILED

    def __init__(
        self,
        description: str,
        *,
        issues: Sequence[ValidationIssue] = (),
        **kwargs: object,
    ) -> None:
        self.issues: tuple[ValidationIssue, ...] = tuple(issues)
        super().__init__(description, **kwargs)  # type: ignore[arg-type]

    @property
    def element(self) -> str | None:
        """Name of the first failing element, when known."""
        return self.issues[0].element if self.issues else None

    @property
    def line(self) -> int | None:
        """Line of the first failure in the rendered document, when known."""
        return self.issues[0].line if self.issues else None


class MalformedXmlError(NcmecRequestError):
    """Not well-formed XML, or XML using forbidden constructs such as a DTD (4110)."""

    default_code = ResponseCode.MALFORMED_XML


class MalformedFileError(NcmecRequestError):
    """The multipart upload was unusable (4200)."""

    default_code = ResponseCode.MALFORMED_FILE


# -- the report is not in the state the caller assumed (5xxx) -----------------


class ReportStateError(NcmecError):
    """The report or file is not in a state that allows the operation."""


class ReportDoesNotExistError(ReportStateError):
    """Unknown report id - never opened, or expired unfinished and deleted by NCMEC (5001)."""

    default_code = ResponseCode.REPORT_DOES_NOT_EXIST


class FileDoesNotExistError(ReportStateError):
    """The fileId is not part of the report (5002)."""

    default_code = ResponseCode.FILE_DOES_NOT_EXIST


class ReportAlreadyRetractedError(ReportStateError):
    """The report was retracted; it can no longer change or be finished (5101)."""

    default_code = ResponseCode.REPORT_ALREADY_RETRACTED


class ReportAlreadyFinishedError(ReportStateError):
    """The report was finished (filed); it can no longer change or be retracted (5102).

    After an uncertain ``finish``, seeing this on a repeated ``finish`` *confirms*
    the first one went through.
    """

    default_code = ResponseCode.REPORT_ALREADY_FINISHED


# -- transport / protocol -----------------------------------------------------


class NcmecUncertainError(NcmecError):
    """A state-changing call failed in transit: NCMEC may or may not have acted.

    Never retried automatically. ``request_sent`` is False only when the
    connection was never established (the call certainly had no effect); the
    lifecycle layer must otherwise reconcile (see docs/ncmec.md).
    """

    def __init__(self, description: str, *, operation: str, request_sent: bool, **kwargs: object) -> None:
        self.operation = operation
        self.request_sent = request_sent
        super().__init__(description, **kwargs)  # type: ignore[arg-type]


class NcmecUnavailableError(NcmecError):
    """A read-only call (status, xsd) could not reach NCMEC, retries included."""


class NcmecProtocolError(NcmecError):
    """The reply was not a usable CyberTipline document (unparseable, unsafe, wrong shape)."""


class UploadIntegrityError(NcmecError):
    """NCMEC's MD5 of an upload differs from the MD5 of the bytes we streamed.

    The file *is* attached to the open report, but it is not the file we meant
    to send; the report must not be finished as is.
    """

    def __init__(self, *, file_id: str, expected_md5: str, received_md5: str, **kwargs: object) -> None:
        self.file_id = file_id
        self.expected_md5 = expected_md5
        self.received_md5 = received_md5
        super().__init__(
            f"upload MD5 mismatch for file {file_id}: sent {expected_md5}, NCMEC computed {received_md5}",
            **kwargs,  # type: ignore[arg-type]
        )


_BY_CODE: dict[int, type[NcmecError]] = {
    ResponseCode.SERVER_ERROR: NcmecServerError,
    ResponseCode.SAVE_FAILED: NcmecServerError,
    ResponseCode.UPLOAD_FAILED: NcmecServerError,
    ResponseCode.FILE_UPLOAD_FAILED: NcmecServerError,
    ResponseCode.RESOURCE_NOT_FOUND: NcmecServerError,
    ResponseCode.UPDATE_FAILED: NcmecServerError,
    ResponseCode.AUTHENTICATION_REQUIRED: NcmecAuthError,
    ResponseCode.NOT_AUTHORIZED: NcmecAuthError,
    ResponseCode.NOT_AUTHORIZED_FOR_SUBMISSIONS: NcmecAuthError,
    ResponseCode.NOT_AUTHORIZED_FOR_UPDATES: NcmecAuthError,
    ResponseCode.INVALID_REQUEST: NcmecRequestError,
    ResponseCode.VALIDATION_FAILED: ReportValidationError,
    ResponseCode.MALFORMED_XML: MalformedXmlError,
    ResponseCode.MALFORMED_FILE: MalformedFileError,
    ResponseCode.REPORT_DOES_NOT_EXIST: ReportDoesNotExistError,
    ResponseCode.FILE_DOES_NOT_EXIST: FileDoesNotExistError,
    ResponseCode.REPORT_ALREADY_RETRACTED: ReportAlreadyRetractedError,
    ResponseCode.REPORT_ALREADY_FINISHED: ReportAlreadyFinishedError,
}


def error_for_code(
    code: int,
    description: str | None = None,
    *,
    request_id: str | None = None,
    http_status: int | None = None,
    report_id: int | None = None,
) -> NcmecError:
    """Build the typed error for a non-zero ``responseCode``.

    Unknown codes map by their thousands band so that a new 5xxx code still
    lands under :class:`ReportStateError`, a new 1xxx under the server errors.
    """
    cls = _BY_CODE.get(code)
    if cls is None:
        band = {1: NcmecServerError, 2: NcmecAuthError, 3: NcmecAuthError, 4: NcmecRequestError, 5: ReportStateError}
        cls = band.get(code // 1000, NcmecError)
    return cls(
        description or describe(code),
        code=code,
        request_id=request_id,
        http_status=http_status,
        report_id=report_id,
    )
