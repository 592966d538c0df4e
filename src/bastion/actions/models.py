"""The outbox table: one row per enforcement action Bastion owes the outside world.

The row speaks Bastion's vocabulary (a kind, a target, a payload), never a transport's:
which connector method or URL carries it is decided at delivery time, in `dispatch`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class ActionKind(StrEnum):
    """What is to be done. `webhook` posts the payload to a configured, named endpoint."""

    REMOVE_CONTENT = "remove_content"
    RESTRICT_ACCOUNT = "restrict_account"
    PRESERVE_ACCOUNT = "preserve_account"
    WEBHOOK = "webhook"


class ActionStatus(StrEnum):
    """Where a row is in its life.

    pending -> in_flight -> delivered
                   |  \\-> failed_retrying -> in_flight ...
                   \\----> dead  (permanent refusal, or out of attempts; an operator may requeue)
    """

    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    FAILED_RETRYING = "failed_retrying"
    DEAD = "dead"


class OutboxAction(Base):
    """One action, written in the same transaction as the decision that caused it."""

    __tablename__ = "outbox_actions"
    __table_args__ = (Index("ix_outbox_actions_status_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Sent with every attempt; unique here so a retried decision cannot make a second row.
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    subject: Mapped[str] = mapped_column(String(300), index=True)  # e.g. "case:12"
    status: Mapped[str] = mapped_column(String(16))
    #: Attempts started (counted at claim time, so a worker that dies mid-send still uses one up).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    leased_by: Mapped[str] = mapped_column(String(100), default="")
    #: Fresh per claim: only the holder of the current lease may record an outcome.
    lease_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

