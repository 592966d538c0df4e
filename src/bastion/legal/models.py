"""Tables of the legal request desk.

The catalogue (jurisdictions, data categories, instruments) is data: seeded by migration
0005_legal from `catalogue/v1.json` and edited by legal staff through `catalogue`, audited.
Structured parts of an instrument (deadline rule, required fields, what it may compel,
notice rules) are JSON text, so a new rule needs a catalogue edit, not a code change.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from bastion.db.base import Base, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class Jurisdiction(Base):
    __tablename__ = "legal_jurisdictions"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(200))


class DataCategory(Base):
    """A kind of data a request may seek; `klass` is its e-Evidence class (subscriber, identification, traffic, content)."""

    __tablename__ = "legal_categories"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    klass: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(200))


class Instrument(Base):
    """One kind of legal process (e.g. a BNSS s.94 notice), with its citation and rules."""

    __tablename__ = "legal_instruments"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    jurisdiction: Mapped[str] = mapped_column(ForeignKey("legal_jurisdictions.code"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))  # production, preservation, removal, emergency, mutual_assistance, other
    citation: Mapped[str] = mapped_column(Text)
    as_of: Mapped[date] = mapped_column(Date)
    deadline_json: Mapped[str] = mapped_column(Text, default="{}")
    emergency_deadline_json: Mapped[str] = mapped_column(Text, default="null")
    preservation_json: Mapped[str] = mapped_column(Text, default="null")
    required_fields_json: Mapped[str] = mapped_column(Text, default="[]")
    may_compel_json: Mapped[str] = mapped_column(Text, default="[]")
    conditions_json: Mapped[str] = mapped_column(Text, default="[]")
    scope_notes_json: Mapped[str] = mapped_column(Text, default="{}")
    notice_json: Mapped[str] = mapped_column(Text, default="{}")
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(200))


class Agency(Base):
    """A known law-enforcement or government authority: the directory requests are verified against."""

    __tablename__ = "legal_agencies"
    __table_args__ = (UniqueConstraint("name", "country", name="uq_legal_agencies_name_country"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    country: Mapped[str] = mapped_column(String(8))
    jurisdiction: Mapped[str] = mapped_column(String(16), default="")
    domains: Mapped[str] = mapped_column(Text, default="")  # space-separated, lower case
    phone: Mapped[str] = mapped_column(String(64), default="")
    phone_source: Mapped[str] = mapped_column(Text, default="")  # where the number was verified
    notes: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(200))


#: The directory page lists agencies by name whatever its case and finds them by its beginning (legal.listing).
Index("ix_legal_agencies_name_lower", func.lower(Agency.name), Agency.id)


class Requester(Base):
    """A person who sends requests, by email address: their confirmation and history hang here."""

    __tablename__ = "legal_requesters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(64), default="")
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("legal_agencies.id"), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True, index=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    confirm_token_hash: Mapped[str] = mapped_column(String(64), default="", index=True)
    confirm_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # An address on no agency's domain (free mail, unknown) is approved only after a call-back on the
    # directory number (who made it, when, what was said) and by a second person (see legal.officers).
    vouched_by: Mapped[str] = mapped_column(String(200), default="")
    vouched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    vouch_note: Mapped[str] = mapped_column(Text, default="")
    supervisor: Mapped[bool] = mapped_column(Boolean, default=False)  # sees the agency's requests; can transfer


class LegalRequest(Base):
    __tablename__ = "legal_requests"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(24), index=True)
    source: Mapped[str] = mapped_column(String(16))  # portal, email, post
    jurisdiction: Mapped[str] = mapped_column(String(16))
    instrument_key: Mapped[str] = mapped_column(ForeignKey("legal_instruments.key"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True, index=True)
    deadline_note: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    # who asks
    #: Indexed: a supervisor's portal list is the agency's requests (legal.portal.own_requests_page).
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("legal_agencies.id"), nullable=True, index=True)
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("legal_requesters.id"), nullable=True, index=True)
    issuing_authority: Mapped[str] = mapped_column(String(300), default="")
    issuing_officer: Mapped[str] = mapped_column(String(300), default="")
    requester_email: Mapped[str] = mapped_column(String(320), default="")
    requester_phone: Mapped[str] = mapped_column(String(64), default="")
    # legal basis
    case_number: Mapped[str] = mapped_column(String(200), default="")
    # what an Indian notice carries (BNSS s.94 / s.106): the FIR, where it was registered, the sections
    fir_number: Mapped[str] = mapped_column(String(100), default="")
    police_station: Mapped[str] = mapped_column(String(200), default="")
    district: Mapped[str] = mapped_column(String(200), default="")
    sections_json: Mapped[str] = mapped_column(Text, default="[]")  # [{"act": "POCSO Act, 2012", "section": "14"}]
    officer_rank: Mapped[str] = mapped_column(String(100), default="")
    notice_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    court: Mapped[str] = mapped_column(String(300), default="")
    purpose: Mapped[str] = mapped_column(Text, default="")
    offence: Mapped[str] = mapped_column(Text, default="")
    offence_max_years: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stated_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # what is sought
    categories_json: Mapped[str] = mapped_column(Text, default="[]")
    date_from: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    date_to: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # emergency, secrecy, child safety
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    emergency_person: Mapped[str] = mapped_column(Text, default="")
    emergency_nature: Mapped[str] = mapped_column(Text, default="")
    emergency_why: Mapped[str] = mapped_column(Text, default="")
    ndo: Mapped[bool] = mapped_column(Boolean, default=False)
    ndo_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    child_safety: Mapped[bool] = mapped_column(Boolean, default=False)
    # the requester chasing us: how often, and since when the request heads the queue
    reminder_count: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # desk state
    missing_json: Mapped[str] = mapped_column(Text, default="[]")
    scope_json: Mapped[str] = mapped_column(Text, default="[]")
    verification: Mapped[str] = mapped_column(String(16), default="pending")  # verified, unconfirmed, held
    verification_json: Mapped[str] = mapped_column(Text, default="[]")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    fraudulent: Mapped[bool] = mapped_column(Boolean, default=False)
    notice_status: Mapped[str] = mapped_column(String(16), default="")  # pending, not_required, deferred, due, sent
    notice_reason: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RequestAccount(Base):
    """An account as the request identifies it, and the platform account it resolves to."""

    __tablename__ = "legal_request_accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("legal_requests.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # username, url, user_id, email, phone
    value: Mapped[str] = mapped_column(String(500))
    account_id: Mapped[str] = mapped_column(String(255), default="", index=True)
    content_id: Mapped[str] = mapped_column(String(255), default="")
    resolved_by: Mapped[str] = mapped_column(String(200), default="")


class RequestDocument(Base):
    """A file that came with the request (the signed order, a follow-up), kept in the evidence vault."""

    __tablename__ = "legal_request_documents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("legal_requests.id", ondelete="CASCADE"), index=True)
    evidence_id: Mapped[int] = mapped_column(BigId)
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    uploaded_by: Mapped[str] = mapped_column(String(200))


class RequestEvent(Base):
    """The request's timeline: everything that happened to it, in order."""

    __tablename__ = "legal_request_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("legal_requests.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    requester_visible: Mapped[bool] = mapped_column(Boolean, default=False)


class Callback(Base):
    """An out-of-band call to the agency, on the number from the directory (never from the request)."""

    __tablename__ = "legal_callbacks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("legal_requests.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))  # confirmed, denied, no_answer
    spoke_with: Mapped[str] = mapped_column(String(300), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    by: Mapped[str] = mapped_column(String(200))


class Decision(Base):
    """A reviewer's decision; a disclosure (produce, produce in part) needs a second person's approval."""

    __tablename__ = "legal_decisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("legal_requests.id", ondelete="CASCADE"), index=True)
    outcome: Mapped[str] = mapped_column(String(24))  # produce, produce_in_part, refuse, ask_more
    categories_json: Mapped[str] = mapped_column(Text, default="[]")
    # what the decision covers, frozen when it is made, and its SHA-256 (see bastion.legal.scope)
    scope_json: Mapped[str] = mapped_column(Text, default="")
    scope_digest: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))  # pending_approval, approved, final, superseded, invalidated
    decided_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Preservation(Base):
    """One account frozen for a request: the platform's snapshot, kept in the vault, until expiry."""

    __tablename__ = "legal_preservations"
    __table_args__ = (UniqueConstraint("request_id", "account_id", name="uq_legal_preservations_request_account"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("legal_requests.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))  # pending, preserved, failed, expired, held, released
    platform_reference: Mapped[str] = mapped_column(String(200), default="")
    evidence_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    retention_policy: Mapped[str] = mapped_column(String(64), default="")
    hold_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    preserved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # the rule the period comes from, fixed when the preservation is queued (a later catalogue edit never shortens it)
    days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    basis: Mapped[str] = mapped_column(Text, default="")  # its citation, e.g. IT Rules 2021, Rule 3(1)(g), (h)
    purpose: Mapped[str] = mapped_column(String(16), default="request")  # request, removal
    extension_basis: Mapped[str] = mapped_column(Text, default="")  # who asked for longer, and on what authority
    content_json: Mapped[str] = mapped_column(Text, default="[]")  # named posts kept: [{content_id, evidence}]
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Collected(Base):
    """One dataset collected for a request (account x category), kept in the vault."""

    __tablename__ = "legal_collected"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("legal_requests.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(32))
    evidence_id: Mapped[int] = mapped_column(BigId)
    records: Mapped[int] = mapped_column(Integer, default=0)
    media_json: Mapped[str] = mapped_column(Text, default="[]")  # evidence ids of media files
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    collected_by: Mapped[str] = mapped_column(String(200))


class Production(Base):
    """A package built for a request; delivered through the portal (expiring token) or exported."""

    __tablename__ = "legal_productions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("legal_requests.id", ondelete="CASCADE"), index=True)
    evidence_id: Mapped[int] = mapped_column(BigId)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    delivery: Mapped[str] = mapped_column(String(16))  # portal, export
    token_hash: Mapped[str] = mapped_column(String(64), default="", index=True)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(200))


class LegalRule(Base):
    """A catalogue rule beyond the instruments: a preservation period by jurisdiction, what a removal
    order sets in motion, or the form of an evidence certificate. Seeded from `catalogue/rules-v1.json`
    by migration 0007_lprod and edited by legal staff (audited, before and after), like instruments."""

    __tablename__ = "legal_rules"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)  # preservation, removal, certificate
    jurisdiction: Mapped[str] = mapped_column(String(16), default="")  # "*" for the fallback
    instrument_key: Mapped[str] = mapped_column(String(64), default="")
    title: Mapped[str] = mapped_column(String(300))
    citation: Mapped[str] = mapped_column(Text)
    as_of: Mapped[date] = mapped_column(Date)
    body_json: Mapped[str] = mapped_column(Text, default="{}")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(200))


class AccountCandidate(Base):
    """A platform account an identifier of the request (username, email, phone) matched, waiting for staff.

    The platform's answer is a candidate, never the request's account: a person confirms it
    (it then resolves the identifier) or rejects it.
    """

    __tablename__ = "legal_account_candidates"
    __table_args__ = (UniqueConstraint("entry_id", "account_id", name="uq_legal_account_candidates_entry_account"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("legal_requests.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("legal_request_accounts.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[str] = mapped_column(String(255))
    username: Mapped[str] = mapped_column(String(255), default="")
    display_name: Mapped[str] = mapped_column(String(300), default="")
    platform_status: Mapped[str] = mapped_column(String(16), default="")
    matched_on: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="proposed")  # proposed, confirmed, rejected
    found_at: Mapped[datetime] = mapped_column(UTCDateTime())
    found_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_by: Mapped[str] = mapped_column(String(200), default="")


class Removal(Base):
    """One content item a removal order names: the outbox action that takes it down and what came of it."""

    __tablename__ = "legal_removals"
    __table_args__ = (UniqueConstraint("request_id", "content_id", name="uq_legal_removals_request_content"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("legal_requests.id", ondelete="CASCADE"), index=True)
    content_id: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[str] = mapped_column(String(255), default="")
    action_id: Mapped[int | None] = mapped_column(BigId, nullable=True)  # the outbox row
    status: Mapped[str] = mapped_column(String(16))  # queued, removed, failed
    outcome: Mapped[str] = mapped_column(String(16), default="")  # applied, no_change (the platform's receipt)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # the platform's time
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # when Bastion learnt it
    last_error: Mapped[str] = mapped_column(Text, default="")


class Message(Base):
    """One message in the thread between the officer and the legal desk about a request.

    The text lives here and is read in the portal; mail only says that there is a message, so
    nothing about a child-safety case sits in an officer's (or a staff member's) mailbox.
    """

    __tablename__ = "legal_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("legal_requests.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # in (from the officer), out (from the desk)
    author: Mapped[str] = mapped_column(String(200))  # the actor, e.g. officer:x@agency.gov.in or user:lee
    author_name: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(64), default="")  # the template it started from, if any
    reply_to: Mapped[int | None] = mapped_column(BigId, nullable=True)
    documents_json: Mapped[str] = mapped_column(Text, default="[]")  # RequestDocument ids attached
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # by the other side
