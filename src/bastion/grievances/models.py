"""Complaints: from the public, from the platform on a user's behalf, from trusted flaggers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, BigId, UTCDateTime


class Complaint(Base):
    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    status_token_hash: Mapped[str] = mapped_column(String(64), index=True)  # the complainant's secret link
    channel: Mapped[str] = mapped_column(String(16))  # public, platform, flagger
    submitted_by: Mapped[str] = mapped_column(String(200), default="")  # the API key's owner, for machines
    category: Mapped[str] = mapped_column(String(24))  # csam, ncii, impersonation, illegal, tos
    content_ref: Mapped[str] = mapped_column(String(2000))  # URL or platform content id
    description: Mapped[str] = mapped_column(Text, default="")
    contact_email: Mapped[str] = mapped_column(String(320), default="")  # optional; kept only as long as the complaint
    jurisdiction: Mapped[str] = mapped_column(String(16), default="IN")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), index=True)  # received, acknowledged, resolved
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    acted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    outcome: Mapped[str] = mapped_column(String(24), default="")  # removed, restricted, no_action, not_found
    outcome_text: Mapped[str] = mapped_column(Text, default="")  # what the complainant is told
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)  # for the queue
    # a file the complainant sent: hashed at intake and then dropped, so nobody ever sees it
    media_md5: Mapped[str] = mapped_column(String(32), default="", server_default="")
    media_pdq: Mapped[str] = mapped_column(String(64), default="", server_default="")
    media_findings: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class ComplaintEvent(Base):
    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="")
    public: Mapped[bool] = mapped_column(default=False)  # shown on the complainant's status page
