"""Tables of the CyberTipline report lifecycle.

One ``ncmec_reports`` row per reported account of a case, its ``ncmec_report_files``
(one per confirmed item), every API call in ``ncmec_api_calls`` and the report's own
timeline in ``ncmec_report_events``.

A call is written twice, in separate commits: as an *intent* (``outcome="pending"``)
before the request leaves, and with its *result* afterwards. A pending row found by
a later worker is therefore proof that a worker died mid-call; see
:mod:`bastion.ncmec.lifecycle` for how each operation is reconciled.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")

# -- report states ------------------------------------------------------------------------------
DRAFT = "draft"
APPROVED = "approved"
SUBMITTED = "submitted"  # open at NCMEC: reportId known
FILES_UPLOADED = "files_uploaded"
FILE_DETAILS_SENT = "file_details_sent"
FINISHED = "finished"  # filed with NCMEC: irreversible
RETRACTED = "retracted"
ERROR = "error"  # needs a person; `resume_state` says where it stopped

STATES = (DRAFT, APPROVED, SUBMITTED, FILES_UPLOADED, FILE_DETAILS_SENT, FINISHED, RETRACTED, ERROR)
#: What people read for each state; the keys stay in URLs and the API.
STATE_TITLES = {DRAFT: "Draft", APPROVED: "Approved", SUBMITTED: "Submitted to NCMEC",
                FILES_UPLOADED: "Files uploaded", FILE_DETAILS_SENT: "File details sent",
                FINISHED: "Filed with NCMEC", RETRACTED: "Retracted", ERROR: "Needs attention"}
#: Open at NCMEC and not finished: NCMEC deletes these on its expiry rule.
IN_FLIGHT = (SUBMITTED, FILES_UPLOADED, FILE_DETAILS_SENT)

# -- call outcomes ------------------------------------------------------------------------------
PENDING = "pending"  # intent recorded, no result (yet)
OK = "ok"
FAILED = "error"  # NCMEC answered with a non-zero responseCode, or the reply was refused
UNCERTAIN = "uncertain"  # the request may have reached NCMEC; outcome unknown
NOT_SENT = "not_sent"  # the connection was never made: certainly no effect
INTERRUPTED = "interrupted"  # a worker died between intent and result


class NcmecReport(Base):
    """One CyberTipline report: the document, where it is in the lifecycle, and NCMEC's ids."""

    __tablename__ = "ncmec_reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(255), default="")
    #: "case:<id>" while the report is not retracted: at most one live report per case.
    open_key: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    state: Mapped[str] = mapped_column(String(24), index=True)
    resume_state: Mapped[str] = mapped_column(String(24), default="")
    environment: Mapped[str] = mapped_column(String(16), default="")
    document_json: Mapped[str] = mapped_column(Text)
    submitted_xml: Mapped[str] = mapped_column(Text, default="")
    ncmec_report_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True, index=True)
    ncmec_file_ids: Mapped[str] = mapped_column(Text, default="[]")
    lost_report_ids: Mapped[str] = mapped_column(Text, default="[]")
    generation: Mapped[int] = mapped_column(Integer, default=0)
    drafted_by: Mapped[str] = mapped_column(String(200))
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    edited_by: Mapped[str] = mapped_column(String(200), default="")
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    approved_by: Mapped[str] = mapped_column(String(200), default="")
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_change_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    retract_requested_by: Mapped[str] = mapped_column(String(200), default="")
    retract_reason: Mapped[str] = mapped_column(Text, default="")
    resubmit_after: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    stalled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attention: Mapped[str] = mapped_column(Text, default="")
    error_step: Mapped[str] = mapped_column(String(16), default="")
    error_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error_text: Mapped[str] = mapped_column(Text, default="")
    error_element: Mapped[str] = mapped_column(String(200), default="")
    error_request_id: Mapped[str] = mapped_column(String(100), default="")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str] = mapped_column(String(100), default="")
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class NcmecReportFile(Base):
    """One confirmed item of the case: the evidence to upload and what NCMEC said about it."""

    __tablename__ = "ncmec_report_files"
    __table_args__ = (UniqueConstraint("report_id", "case_item_id", name="uq_ncmec_report_files_report_item"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("ncmec_reports.id", ondelete="CASCADE"), index=True)
    case_item_id: Mapped[int] = mapped_column(BigId)
    scan_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    evidence_item_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_items.id"), nullable=True)
    file_name: Mapped[str] = mapped_column(String(255), default="file")
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    expected_md5: Mapped[str] = mapped_column(String(32), default="")
    #: The fileDetails fields other than reportId and fileId, as JSON (edited by reviewers).
    details_json: Mapped[str] = mapped_column(Text, default="{}")
    file_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    md5: Mapped[str] = mapped_column(String(32), default="")
    uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    fileinfo_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    fileinfo_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class NcmecApiCall(Base):
    """Every call made (or about to be made) to the CyberTipline API, with NCMEC's answer."""

    __tablename__ = "ncmec_api_calls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("ncmec_reports.id", ondelete="CASCADE"), index=True)
    file_row_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    operation: Mapped[str] = mapped_column(String(16))
    environment: Mapped[str] = mapped_column(String(16), default="")
    ncmec_report_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    file_id: Mapped[str] = mapped_column(String(100), default="")
    worker: Mapped[str] = mapped_column(String(100), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16), default=PENDING, index=True)
    request_id: Mapped[str] = mapped_column(String(100), default="")
    http_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    response_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")


class NcmecReportEvent(Base):
    """The report's own timeline: drafted, edited, approved, stalled, lost, re-created, finished ..."""

    __tablename__ = "ncmec_report_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("ncmec_reports.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    details: Mapped[str] = mapped_column(Text, default="{}")
