"""The task outbox: task messages written in the caller's transaction, relayed once committed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, BigId, UTCDateTime


class TaskMessage(Base):
    """One task to run: its registered name, its queue and a payload of ids (never media or personal data)."""

    __tablename__ = "task_outbox"
    __table_args__ = (Index("ix_task_outbox_status_id", "status", "id"),
                      # the operations page's and /metrics' "published in the last 5 minutes / hour"
                      Index("ix_task_outbox_status_published_at", "status", "published_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task: Mapped[str] = mapped_column(String(100))
    queue: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text, default="{}")
    #: pending (not yet handed to the broker or executor) or published.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    publish_attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: A relay that took the row holds it until then; one that died mid-publish lets it go.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
