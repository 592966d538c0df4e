"""Every notice Bastion owed an account holder: sent through the platform, or withheld with its reason."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, BigId, UTCDateTime


class NoticeRecord(Base):
    __tablename__ = "account_notices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)  # what the user quotes in an appeal
    account_id: Mapped[str] = mapped_column(String(255), index=True)
    subject: Mapped[str] = mapped_column(String(100), index=True)  # case:12, appeal:3
    kind: Mapped[str] = mapped_column(String(32))  # statement_of_reasons, appeal_decision
    jurisdiction: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # queued, withheld
    withheld_reason: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    action_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the outbox row that carries it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
