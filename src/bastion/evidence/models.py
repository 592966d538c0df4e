"""Tables of the evidence vault.

Rows here are never deleted except `evidence_blobs`: a purge turns an item into a
tombstone (hashes, kind, subject and custody kept; bytes, EXIF and metadata gone)
and deletes the blob row with its wrapped data key once no item references it, which
makes any copy of the ciphertext left behind (in a backup, say) undecryptable.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")

PRESERVED = "preserved"
PURGED = "purged"


class EvidenceBlob(Base):
    """One sealed object in the blob store; content-addressed by the plaintext's SHA-256.

    The same bytes preserved twice make two items that share one blob.
    """

    __tablename__ = "evidence_blobs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    object_key: Mapped[str] = mapped_column(String(200), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    key_id: Mapped[str] = mapped_column(String(16), index=True)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EvidenceItem(Base):
    """One preserved thing: what it is, whose it is, and its hashes; the bytes are in a blob."""

    __tablename__ = "evidence_items"
    __table_args__ = (Index("ix_evidence_items_status_retention", "status", "retention_until"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    blob_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_blobs.id"), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default=PRESERVED)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(300), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    md5: Mapped[str] = mapped_column(String(32))
    sha1: Mapped[str] = mapped_column(String(40))
    pdq: Mapped[str] = mapped_column(String(64), default="")
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    metadata_json: Mapped[str] = mapped_column(Text, default="{}")
    context_json: Mapped[str] = mapped_column(Text, default="{}")
    exif_json: Mapped[str] = mapped_column(Text, default="{}")
    preserved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    preserved_by: Mapped[str] = mapped_column(String(200))
    retention_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CustodyEvent(Base):
    """Who did what to an item, when and why. Append-only; `audit_seq` links the audit record."""

    __tablename__ = "evidence_custody"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    details_json: Mapped[str] = mapped_column(Text, default="{}")
    audit_seq: Mapped[int] = mapped_column(BigId)


class RetentionPolicy(Base):
    """One entry of the retention catalogue: legal data, edited by legal staff through the service."""

    __tablename__ = "evidence_retention_policies"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    duration: Mapped[str] = mapped_column(String(32))  # ISO 8601, e.g. P1Y, P180D
    citation: Mapped[str] = mapped_column(Text)
    as_of: Mapped[date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(200))


class RetentionApplied(Base):
    """A policy applied to an item, with the policy's terms as they were then."""

    __tablename__ = "evidence_retention"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("evidence_items.id"), index=True)
    policy_key: Mapped[str] = mapped_column(String(64))
    duration: Mapped[str] = mapped_column(String(32))
    citation: Mapped[str] = mapped_column(Text)
    from_time: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime())
    applied_by: Mapped[str] = mapped_column(String(200))


class LegalHold(Base):
    """A hold on one item or on everything about a subject; active while `released_at` is empty."""

    __tablename__ = "evidence_holds"
    __table_args__ = (CheckConstraint("(subject IS NULL) <> (item_id IS NULL)", name="one_target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str | None] = mapped_column(String(300), nullable=True, index=True)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("evidence_items.id"), nullable=True, index=True)
    reason: Mapped[str] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(String(200), default="")
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    placed_by: Mapped[str] = mapped_column(String(200))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    released_by: Mapped[str] = mapped_column(String(200), default="")
    release_reason: Mapped[str] = mapped_column(Text, default="")
