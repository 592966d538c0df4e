"""Typed results of successful CyberTipline calls.

Each carries the ``Request-ID`` header NCMEC attached to the reply, so that it
can be stored next to the case record and quoted to NCMEC support.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FileInfoResult", "FinishResult", "RetractResult", "StatusResult", "SubmitResult", "UploadResult"]


@dataclass(frozen=True, slots=True)
class StatusResult:
    description: str
    request_id: str | None


@dataclass(frozen=True, slots=True)
class SubmitResult:
    report_id: int
    request_id: str | None


@dataclass(frozen=True, slots=True)
class UploadResult:
    """``md5`` is the digest of the bytes streamed, confirmed equal to NCMEC's."""

    file_id: str
    md5: str
    request_id: str | None
    report_id: int
    size: int


@dataclass(frozen=True, slots=True)
class FileInfoResult:
    report_id: int
    file_id: str
    request_id: str | None


@dataclass(frozen=True, slots=True)
class FinishResult:
    """The report is filed. ``file_ids`` is NCMEC's list of files attached to it."""

    report_id: int
    file_ids: tuple[str, ...]
    request_id: str | None


@dataclass(frozen=True, slots=True)
class RetractResult:
    report_id: int
    request_id: str | None
