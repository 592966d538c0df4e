"""Tables of the exchanges domain."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, UTCDateTime

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
