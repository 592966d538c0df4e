"""An account holder's appeal against a confirmed case's enforcement."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, BigId, UTCDateTime


class Appeal(Base):
    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(255), index=True)
    notice_reference: Mapped[str] = mapped_column(String(64), default="")
    grounds: Mapped[str] = mapped_column(Text, default="")  # the user's own words
    jurisdiction: Mapped[str] = mapped_column(String(16))
    submitted_by: Mapped[str] = mapped_column(String(200))  # the platform's API key owner
    status: Mapped[str] = mapped_column(String(16), index=True)  # received, decided
    outcome: Mapped[str] = mapped_column(String(16), default="")  # upheld (decision stands), reversed
    decision_text: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
