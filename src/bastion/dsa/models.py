"""One row per DSA statement of reasons owed to the Transparency Database, and where its submission stands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, BigId, UTCDateTime

#: pending: waits for the next batch; submitted: the database holds it (uuid set); held: a legal bar keeps it
#: back; refused: the API (or the local check) refused it and a person must fix the cause.
STATES = ("pending", "submitted", "held", "refused")


class DsaStatement(Base):
    __tablename__ = "dsa_statements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    notice_id: Mapped[int] = mapped_column(Integer, unique=True)  # the account_notices row it reports
    case_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    puid: Mapped[str] = mapped_column(String(500), unique=True)  # the API's idempotency key
    category: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), index=True)
    held_reason: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    uuid: Mapped[str] = mapped_column(String(64), default="")  # the database's id once it holds the statement
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The appeal that reversed the decision (`dsa.reversals`), once Bastion has dealt with it, and when.
    reversal_ref: Mapped[str] = mapped_column(String(32), default="", server_default="")
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reversal_note: Mapped[str] = mapped_column(Text, default="", server_default="")
