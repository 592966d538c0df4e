"""Tables of the cases domain."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0, index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    removal_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    removal_policy: Mapped[str] = mapped_column(String(100), default="")
    claimed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    escalated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    classification: Mapped[str] = mapped_column(String(8), default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: Set when an auto-action policy acted before any person reviewed the case (see `autoaction`).
    auto_policy: Mapped[str] = mapped_column(String(100), default="", server_default="")
    auto_actioned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    #: What the case is about: `csam` (bank matches, NCMEC reports) or `ncii` (a Rule 3(2)(b) complaint), `other`.
    kind: Mapped[str] = mapped_column(String(16), default="csam", server_default="csam", index=True)
    #: Where it came from (bank, exchange, complaint, classifier) and what routing may look at.
    source: Mapped[str] = mapped_column(String(16), default="bank", server_default="bank")
    source_ref: Mapped[str] = mapped_column(String(100), default="", server_default="")  # e.g. a complaint reference
    jurisdiction: Mapped[str] = mapped_column(String(16), default="", server_default="")
    language: Mapped[str] = mapped_column(String(16), default="", server_default="")
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("review_queues.id", ondelete="SET NULL"), nullable=True,
                                                 index=True)
    #: An external classifier's opinion of unknown material: kept with the model that gave it.
    classifier_model: Mapped[str] = mapped_column(String(100), default="", server_default="")
    classifier_score: Mapped[float | None] = mapped_column(Float, nullable=True)


class CaseItem(Base):
    """One matched upload in a case, with the match that brought it in."""

    __tablename__ = "case_items"
    __table_args__ = (UniqueConstraint("case_id", "scan_id", name="uq_case_items_case_scan"),
                      # share-back joins decisions to the exchange's entries, and reads those since a date
                      Index("ix_case_items_entry_id", "entry_id"), Index("ix_case_items_decided_at", "decided_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    scan_id: Mapped[int] = mapped_column(BigId, index=True)
    content_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    bank_id: Mapped[int] = mapped_column(Integer)
    bank_name: Mapped[str] = mapped_column(String(255), index=True)
    bank_source: Mapped[str] = mapped_column(String(255), default="")
    entry_id: Mapped[int] = mapped_column(BigId)
    signal_type: Mapped[str] = mapped_column(String(32))
    distance: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(64), default="")
    media_ref: Mapped[str] = mapped_column(String(100), default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    viewed: Mapped[bool] = mapped_column(Boolean, default=False)
    decision: Mapped[str] = mapped_column(String(16), default="pending")  # pending | confirmed | not_match
    classification: Mapped[str] = mapped_column(String(8), default="")
    annotations: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CaseEvent(Base):
    """Everything that happened to a case, in order: the case's own timeline."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str] = mapped_column(String(16), default="")
    to_status: Mapped[str] = mapped_column(String(16), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")


class EntryFeedback(Base):
    """A reviewer's "not a match" against a bank entry: how banks learn their false positives."""

    __tablename__ = "entry_feedback"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(BigId, index=True)
    case_item_id: Mapped[int] = mapped_column(BigId)
    reviewer: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    disabled_entry: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class ReviewerExposure(Base):
    """How many items a reviewer has opened (revealed), and how much video they watched, on a given day."""

    __tablename__ = "reviewer_exposure"
    __table_args__ = (UniqueConstraint("user_id", "day", name="uq_reviewer_exposure_user_day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    revealed: Mapped[int] = mapped_column(Integer, default=0)
    reviewed: Mapped[int] = mapped_column(Integer, default=0)
    #: Seconds of video played (as the player reported them, bounded by each video's length).
    video_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: A lead's lifting of the daily cap for this day: who, and why (also in the audit log).
    cap_lifted_by: Mapped[str] = mapped_column(String(200), default="", server_default="")
    cap_lift_reason: Mapped[str] = mapped_column(Text, default="", server_default="")


class ReviewerPreference(Base):
    """A reviewer's own override of an organisation wellness default."""

    __tablename__ = "reviewer_preferences"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_reviewer_preferences_user_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(Text)


class AutoPolicy(Base):
    """Act before human review on matches in high-confidence banks. Data, so changes are audited.

    Exact hashes act only at distance 0; PDQ acts only within `pdq_max_distance`, which a policy naming
    "pdq" must set (None otherwise).
    """

    __tablename__ = "auto_policies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    signal_types: Mapped[str] = mapped_column(String(64), default="md5 sha256")  # space-separated
    remove: Mapped[bool] = mapped_column(Boolean, default=True)
    preserve: Mapped[bool] = mapped_column(Boolean, default=True)
    suspend: Mapped[bool] = mapped_column(Boolean, default=False)
    pdq_max_distance: Mapped[int | None] = mapped_column(Integer, nullable=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(200), default="")


class ReviewQueue(Base):
    """A named queue that routing rules fill and reviewers are assigned to."""

    __tablename__ = "review_queues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200), default="")


class QueueMember(Base):
    """A reviewer assigned to a queue: they see its cases (and unrouted ones), no others."""

    __tablename__ = "queue_members"
    __table_args__ = (UniqueConstraint("queue_id", "user_id", name="uq_queue_members_queue_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("review_queues.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class RoutingRule(Base):
    """One ordered rule: the first enabled rule whose every condition holds sends a new case to its queue.

    Empty conditions do not constrain. `from_queue_id` makes a forwarding rule (it applies to cases
    already in that queue), which is how a configuration could loop; saving refuses a loop.
    """

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0, index=True)
    name: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    queue_id: Mapped[int] = mapped_column(ForeignKey("review_queues.id", ondelete="CASCADE"))
    from_queue_id: Mapped[int | None] = mapped_column(ForeignKey("review_queues.id", ondelete="CASCADE"),
                                                      nullable=True)
    kinds: Mapped[str] = mapped_column(String(100), default="")  # space-separated case kinds
    categories: Mapped[str] = mapped_column(String(200), default="")  # space-separated classifications (A1 ... ncii)
    sources: Mapped[str] = mapped_column(String(100), default="")  # bank exchange complaint classifier
    signal: Mapped[str] = mapped_column(String(16), default="")  # "", exact, perceptual
    max_distance: Mapped[int | None] = mapped_column(Integer, nullable=True)
    min_prior_cases: Mapped[int | None] = mapped_column(Integer, nullable=True)
    jurisdictions: Mapped[str] = mapped_column(String(200), default="")
    languages: Mapped[str] = mapped_column(String(200), default="")
    min_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(200), default="")


class QualitySample(Base):
    """A concluded case sampled for a blind second review; disagreements go to a lead."""

    __tablename__ = "quality_samples"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("review_queues.id", ondelete="SET NULL"), nullable=True)
    first_reviewer: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    first_outcome: Mapped[str] = mapped_column(String(40))  # "confirmed A1", "dismissed"
    second_reviewer: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    second_outcome: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[str] = mapped_column(String(16), default="waiting", index=True)  # waiting agreed to_lead settled
    sampled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    lead: Mapped[str] = mapped_column(String(200), default="")
    lead_note: Mapped[str] = mapped_column(Text, default="")
