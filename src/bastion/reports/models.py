"""Report versions: a draft, its approval by a second person, publication, and corrections.

A version keeps the figures it was drafted with (`figures_json`), so approving and publishing act
on exactly what the approver read. Publishing stores the rendered bytes of every format with their
SHA-256: the published report is frozen, and later changes to the records never alter it. A
correction is a new version of the same kind and period that names the version it corrects, the
reason, and which figures changed.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, BigId, UTCDateTime


class ReportVersion(Base):
    __tablename__ = "report_versions"
    __table_args__ = (UniqueConstraint("kind", "period", "version", name="uq_report_versions_kind_period_version"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    period: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)  # draft, approved, published, superseded, withdrawn
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    figures_json: Mapped[str] = mapped_column(Text)
    corrects: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the version number this one corrects
    note: Mapped[str] = mapped_column(Text, default="")  # why (required for a correction)
    drafted_by: Mapped[str] = mapped_column(String(200))
    drafted_by_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # None: drafted by the timer
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_by: Mapped[str] = mapped_column(String(200), default="")
    approved_by_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    published_by: Mapped[str] = mapped_column(String(200), default="")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    csv_bytes: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    json_bytes: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    pdf_bytes: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    sha256_json: Mapped[str] = mapped_column(Text, default="{}")  # format -> SHA-256 of the frozen bytes


class DailyDetection(Base):
    """One figure of one closed UTC day: `metric` with an optional `key` (the bank or signal type)."""

    __tablename__ = "report_daily_detection"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    metric: Mapped[str] = mapped_column(String(24), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True, default="")
    n: Mapped[int] = mapped_column(BigInteger, default=0)
