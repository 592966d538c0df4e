"""Tables of the banks domain."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import (
    BigInteger, Boolean, ColumnElement, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, and_, false,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class Bank(Base):
    __tablename__ = "banks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="match")  # match | allow
    pdq_threshold: Mapped[int] = mapped_column(Integer, default=31)
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(255), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Exact matches here may be acted on before review, if an auto-action policy says so.
    high_confidence: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    matching_enabled_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    #: A banked video matches when at least this share of the query's frames match it (python-threatexchange: 80)
    vpdq_query_match_percent: Mapped[float] = mapped_column(Float, default=80.0, server_default="80")
    #: ... and at least this share of its own frames are matched (python-threatexchange: 0)
    vpdq_compared_match_percent: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class BankEntry(Base):
    """One item of a bank; HMA calls it "bank content" and its id is HMA's content id."""

    __tablename__ = "bank_entries"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(255), default="")
    source: Mapped[str] = mapped_column(String(255), default="")
    classification: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    metadata_json: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    added_by: Mapped[str] = mapped_column(String(200), default="")


class EntrySignal(Base):
    """A hash of an entry. A value appears at most once per bank and signal type."""

    __tablename__ = "entry_signals"
    __table_args__ = (
        UniqueConstraint("bank_id", "signal_type", "value", name="uq_entry_signals_bank_type_value"),
        Index("ix_entry_signals_type_value", "signal_type", "value"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("bank_entries.id", ondelete="CASCADE"), index=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("banks.id", ondelete="CASCADE"))
    signal_type: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(128))


class VideoSignal(Base):
    """The frames of a vPDQ signal, in python-threatexchange's format (a JSON list of "hash,quality,seconds").

    A video's signal is tens of kilobytes, too long for `entry_signals.value` and its unique
    index; that row holds the SHA-256 of the canonical signal instead (so a bank holds a video
    once), and the signal itself lives here, one row per vPDQ signal.
    """

    __tablename__ = "video_signals"

    signal_id: Mapped[int] = mapped_column(BigId, ForeignKey("entry_signals.id", ondelete="CASCADE"), primary_key=True)
    features: Mapped[str] = mapped_column(Text)
    frame_count: Mapped[int] = mapped_column(Integer, default=0)


def signals_in(pairs: Iterable[tuple[str, str]]) -> ColumnElement[bool]:
    """`(signal_type, value) IN pairs`, written so that both planners search the index.

    A row-value IN over the pair makes SQLite read every stored signal; grouped per signal type,
    `signal_type = ? AND value IN (...)` is an index search on SQLite and PostgreSQL alike.
    """
    by_kind: dict[str, list[str]] = {}
    for kind, value in pairs:
        by_kind.setdefault(kind, []).append(value)
    return or_(*(and_(EntrySignal.signal_type == kind, EntrySignal.value.in_(values))
                 for kind, values in by_kind.items()))


class SignalChange(Base):
    """Append-only log of PDQ signals added or removed, so every process's index can catch up.

    Indexes apply changes after the sequence number they last saw; nothing is ever
    rebuilt whole because a bank changed.
    """

    __tablename__ = "signal_changes"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    signal_id: Mapped[int] = mapped_column(BigId)
    signal_type: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(128), default="")
    op: Mapped[str] = mapped_column(String(8))  # add | remove
    at: Mapped[datetime] = mapped_column(UTCDateTime())
