"""Audit tables: the records, and a one-row head that serialises appends."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, UTCDateTime


class AuditRecord(Base):
    """One audited act. Rows are only ever inserted; `verify` proves nobody edited them."""

    __tablename__ = "audit_records"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(100), index=True)
    subject: Mapped[str] = mapped_column(String(300), default="", index=True)
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's tip: last sequence number and hash.

    Appenders lock this row first (UPDATE), so concurrent transactions append one after
    another instead of forking the chain. It also lets `verify` notice records deleted
    from the end of the chain, which a walk of the records alone cannot see.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    hash: Mapped[str] = mapped_column(String(64))


class AuditVerification(Base):
    """A whole-chain verification: when, by whom, and what it found.

    The audit page cannot walk millions of records on every load. It shows the last whole-chain
    verification, checks that the record it ended at still holds the hash it had, and walks only
    the records written since; a full walk is one button (or `bastion audit verify`) away."""

    __tablename__ = "audit_verifications"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    ok: Mapped[bool] = mapped_column(Boolean)
    records: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    head_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    head_hash: Mapped[str] = mapped_column(String(64))
    first_broken: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
