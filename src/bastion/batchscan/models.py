"""Asynchronous scan jobs: one row per submitted item, the source of truth for its result."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, BigId, UTCDateTime

#: Statuses: queued -> running -> done | failed (the media was refused) | dead (tries ran out; retryable).
OPEN = ("queued", "running")
FINAL = ("done", "failed", "dead")


class ScanJob(Base):
    """One item of a batch. The media waits here (not in the message) until it is scanned, then is dropped."""

    __tablename__ = "scan_jobs"
    __table_args__ = (Index("ix_scan_jobs_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: The id the platform polls with (a UUID, so ids say nothing about volumes).
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    #: sha256 of the platform's content id and the media digest (or URL): a resubmitted item finds its job.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))  # upload | url
    url: Mapped[str] = mapped_column(Text, default="")
    media: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    media_sha256: Mapped[str] = mapped_column(String(64), default="")
    content_id: Mapped[str] = mapped_column(String(255), default="")
    account_id: Mapped[str] = mapped_column(String(255), default="")
    uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    metadata_json: Mapped[str] = mapped_column(Text, default="{}")
    #: Deliveries started (committed before the work, so a message that kills workers uses them up).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    #: The process that took the latest try (host:pid): where to look when a job is stuck or dead.
    worker: Mapped[str] = mapped_column(String(100), default="")
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("scans.id", ondelete="SET NULL"), nullable=True)
    #: "" (no webhook configured), pending, or sent.
    webhook_status: Mapped[str] = mapped_column(String(16), default="")
    webhook_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    submitted_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
