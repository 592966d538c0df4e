"""A report to an authority other than through NCMEC's API: the package built, its delivery, the receipt."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, BigId, UTCDateTime


class AuthorityReport(Base):
    __tablename__ = "authority_reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    destination: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))  # built, delivered, acknowledged
    evidence_id: Mapped[int] = mapped_column(BigId)  # the signed package, in the vault
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime())
    built_by: Mapped[str] = mapped_column(String(200))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_by: Mapped[str] = mapped_column(String(200), default="")
    channel: Mapped[str] = mapped_column(String(100), default="")  # how it went: portal upload, letter, by hand
    delivery_reference: Mapped[str] = mapped_column(Text, default="")  # e.g. the portal's complaint number
    acknowledgement: Mapped[str] = mapped_column(String(200), default="")  # the authority's receipt number
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
