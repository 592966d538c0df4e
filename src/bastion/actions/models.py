"""The outbox table: one row per enforcement action Bastion owes the outside world.

The row speaks Bastion's vocabulary (a kind, a target, a payload), never a transport's:
which connector method or URL carries it is decided at delivery time, in `dispatch`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, UTCDateTime
from bastion.outbox import OutboxColumns, status_enum


class ActionKind(StrEnum):
    """What is to be done. `webhook` posts the payload to a configured, named endpoint.

    The undo kinds (`restore_content`, `lift_restriction`) exist for appeals that succeed;
    `notify_account` carries a statement of reasons or an appeal decision to the user.
    """

    REMOVE_CONTENT = "remove_content"
    RESTRICT_ACCOUNT = "restrict_account"
    PRESERVE_ACCOUNT = "preserve_account"
    RESTORE_CONTENT = "restore_content"
    LIFT_RESTRICTION = "lift_restriction"
    NOTIFY_ACCOUNT = "notify_account"
    WEBHOOK = "webhook"


#: pending -> in_flight -> delivered, failed_retrying, dead (`bastion.outbox.status`).
ActionStatus = status_enum("ActionStatus", in_flight="in_flight", done="delivered", retrying="failed_retrying",
                           module=__name__)


class OutboxAction(OutboxColumns, Base):
    """One action, written in the same transaction as the decision that caused it.

    Its idempotency key is sent with every attempt, so the platform acts once.
    """

    __tablename__ = "outbox_actions"
    __table_args__ = (Index("ix_outbox_actions_status_due", "status", "next_attempt_at"),)

    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(String(300), index=True)  # e.g. "case:12"
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

