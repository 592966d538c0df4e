"""Scans and their matches. Hashes and platform metadata only: media bytes are never stored here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class Scan(Base):
    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    source: Mapped[str] = mapped_column(String(16))  # upload | url | cli
    url: Mapped[str] = mapped_column(Text, default="")
    content_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    account_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    metadata_json: Mapped[str] = mapped_column(Text, default="{}")
    md5: Mapped[str] = mapped_column(String(32), index=True)
    sha1: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    pdq: Mapped[str] = mapped_column(String(64), default="")
    pdq_quality: Mapped[int] = mapped_column(Integer, default=0)
    pdq_dihedral: Mapped[str] = mapped_column(Text, default="")
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    media_format: Mapped[str] = mapped_column(String(16), default="")
    animated: Mapped[bool] = mapped_column(Boolean, default=False)
    match_count: Mapped[int] = mapped_column(Integer, default=0)
    allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_by: Mapped[str] = mapped_column(String(200), default="")


class ScanMatch(Base):
    __tablename__ = "scan_matches"
    __table_args__ = (UniqueConstraint("scan_id", "signal_id", name="uq_scan_matches_scan_signal"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"), index=True)
    bank_id: Mapped[int] = mapped_column(Integer, index=True)
    bank_name: Mapped[str] = mapped_column(String(255))
    entry_id: Mapped[int] = mapped_column(BigId)
    signal_id: Mapped[int] = mapped_column(BigId)
    signal_type: Mapped[str] = mapped_column(String(32))
    distance: Mapped[int] = mapped_column(Integer)
    classification: Mapped[str] = mapped_column(String(64), default="")
    found_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # reports and charts read by period
    found_by: Mapped[str] = mapped_column(String(16), default="scan")  # scan | rescan
