"""Tables of the exchanges domain."""

from __future__ import annotations

from datetime import datetime

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, UTCDateTime
from bastion.outbox import OutboxColumns, status_enum

BigId = BigInteger().with_variant(Integer, "sqlite")


class Exchange(Base):
    """One configured exchange. `credentials` is Fernet ciphertext; nothing ever reads it back out to a person."""

    __tablename__ = "exchanges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    api: Mapped[str] = mapped_column(String(64))
    config_json: Mapped[str] = mapped_column(Text, default="{}")
    credentials: Mapped[str] = mapped_column(Text, default="")
    bank_ids_json: Mapped[str] = mapped_column(Text, default="[]")
    fetch_every_minutes: Mapped[int] = mapped_column(Integer, default=60)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    # idle | running | ok | error | auth_failed
    status: Mapped[str] = mapped_column(String(16), default="idle")
    last_error: Mapped[str] = mapped_column(Text, default="")
    checkpoint_json: Mapped[str] = mapped_column(Text, default="")
    checkpoint_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    fetch_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_succeeded: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    items_added: Mapped[int] = mapped_column(Integer, default=0)
    items_updated: Mapped[int] = mapped_column(Integer, default=0)
    items_deleted: Mapped[int] = mapped_column(Integer, default=0)
    items_skipped: Mapped[int] = mapped_column(Integer, default=0)
    #: What Bastion shares back (`bastion.exchanges.sharing.Sharing` as JSON); "{}": nothing
    share_json: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    #: Decisions from this moment on are shared (sharing never reaches back before it was switched on)
    share_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExchangeApiCredentials(Base):
    """HMA keeps credentials per exchange type (`/c/exchanges/api/<api>`); an exchange without its own uses these."""

    __tablename__ = "exchange_api_credentials"

    api: Mapped[str] = mapped_column(String(64), primary_key=True)
    credentials: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExchangeItem(Base):
    """Where a bank entry came from: one upstream record, in one bank, with its labels and when it was seen.

    A record removed upstream keeps its row (with `removed_at`) for the record; its bank entry goes.
    """

    __tablename__ = "exchange_items"
    __table_args__ = (
        UniqueConstraint("exchange_id", "bank_id", "upstream_id", name="uq_exchange_items_exchange_bank_upstream"),
        Index("ix_exchange_items_entry", "entry_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id", ondelete="CASCADE"), index=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"))
    upstream_id: Mapped[str] = mapped_column(String(255))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("bank_entries.id", ondelete="SET NULL"), nullable=True)
    signals_json: Mapped[str] = mapped_column(Text, default="{}")
    labels_json: Mapped[str] = mapped_column(Text, default="{}")
    generation: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


#: pending -> sending -> sent, failed_retrying, dead (`bastion.outbox.status`); before them a contribution that
#: needs a second approver is `needs_approval`, and one the approver turned down is `refused`.
ContributionStatus = status_enum("ContributionStatus", in_flight="sending", done="sent", retrying="failed_retrying",
                                 module=__name__)
AWAITING_APPROVAL, REFUSED = "needs_approval", "refused"


class ExchangeContribution(OutboxColumns, Base):
    """One thing Bastion owes an exchange: feedback on a hash it shared, or a hash of confirmed new material.

    Only hashes and the exchange's own ids travel; never media. Written in the outbox's way (one row per
    idempotency key), so a crash between sending and recording never sends twice from Bastion's side.
    """

    __tablename__ = "exchange_contributions"
    __table_args__ = (Index("ix_exchange_contributions_status_due", "status", "next_attempt_at"),
                      Index("ix_exchange_contributions_exchange_item", "exchange_id", "case_item_id"),
                      Index("ix_exchange_contributions_exchange_entry", "exchange_id", "entry_id"))

    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id", ondelete="CASCADE"))
    #: confirmed (a match a reviewer confirmed) | false_positive | new_material
    kind: Mapped[str] = mapped_column(String(16))
    #: the audit subject: "case_item:<id>" or "bank_entry:<id>"
    subject: Mapped[str] = mapped_column(String(300), index=True)
    case_item_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    entry_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    upstream_id: Mapped[str] = mapped_column(String(255), default="")
    signal_type: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(Text)
    #: what the sender needs beyond the hash (NCMEC member and entry ids, ThreatExchange descriptor ids)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: the user whose decision this is, and the different user who approved it (when a second approver is needed)
    proposer_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    approver_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    approved_by: Mapped[str] = mapped_column(String(200), default="")
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
