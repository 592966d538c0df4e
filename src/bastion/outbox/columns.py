"""The columns every outbox table has, declared once.

A queue's model adds what it carries (an action's kind and target, a message's
recipients and bodies), what its rows are about (the audit subject) and when a row
was finished, and mixes these in: `class OutboxAction(OutboxColumns, Base)`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import BigId, UTCDateTime


class OutboxColumns:
    """Identity, idempotency, status, attempts, the lease, the last error and who wrote the row when."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    #: Unique, so replaying what queued a row (a double click, a retried request) finds it instead of adding one.
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    #: Attempts started (counted at claim time, so a worker that dies mid-attempt still uses one up).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    leased_by: Mapped[str] = mapped_column(String(100), default="")
    #: Fresh per claim: only the holder of the current lease may record an outcome.
    lease_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
