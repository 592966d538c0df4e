"""Everything the request page (and the JSON API) shows about one request, in one read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bastion.auth.models import User
from bastion.legal import (
    clocks,
    collection,
    intake,
    preservation,
    produce,
    related,
    removal,
    resolution,
    review,
    verification,
)
from bastion.legal.catalogue import InstrumentRule, field_labels, get_instrument
from bastion.legal.models import (
    AccountCandidate,
    Callback,
    Collected,
    Decision,
    LegalRequest,
    Preservation,
    Production,
    RequestAccount,
    RequestDocument,
    RequestEvent,
    Removal,
)


@dataclass
class RequestView:
    request: LegalRequest
    rule: InstrumentRule
    categories: list[str]
    missing: list[str]
    scope: list[dict[str, str]]
    verification: dict[str, Any]
    accounts: list[RequestAccount]
    documents: list[RequestDocument]
    callbacks: list[Callback]
    decisions: list[Decision]
    blockers: list[str]
    preservations: list[Preservation]
    collected: list[Collected]
    productions: list[Production]
    related_cases: list[related.RelatedCase]
    events: list[RequestEvent]
    assignee: str
    users: dict[int, str]
    time_left: float | None
    candidates: list[AccountCandidate]
    removals: list[Removal]
    now: datetime
    clocks: list[clocks.DeskClock]

    @property
    def merge_offer(self) -> dict[str, Any] | None:
        """The open request this one may be a reminder of (offered once at intake), while both are open."""
        if self.request.closed_at is not None:
            return None
        offers = [json.loads(e.details) for e in self.events if e.kind == "possible_duplicate"]
        return offers[-1] if offers and "original_id" in offers[-1] else None

    @property
    def sections(self) -> list[dict[str, str]]:
        return list(json.loads(self.request.sections_json or "[]"))

    @property
    def held_seconds(self) -> float | None:
        """How long a held request has waited (held requests run no escalation, but their time shows)."""
        return (self.now - self.request.received_at).total_seconds() if clocks.is_held(self.request) else None

    def preservation_state(self, row: Preservation) -> dict[str, Any]:
        """Never "preserved until" a date already gone (see `preservation.describe`)."""
        return preservation.describe(row, self.now)

    @staticmethod
    def kept_posts(row: Preservation) -> list[dict[str, Any]]:
        """The named posts a preservation kept in the vault ({content_id, evidence, media})."""
        return [k for k in json.loads(row.content_json or "[]") if isinstance(k, dict)]

    def as_dict(self) -> dict[str, Any]:
        r = self.request
        iso = (lambda d: d.isoformat() if d else None)
        return {
            "id": r.id, "reference": r.reference, "status": r.status, "source": r.source,
            "jurisdiction": r.jurisdiction, "instrument": self.rule.as_dict(), "received_at": iso(r.received_at),
            "due_at": iso(r.due_at), "deadline_rule": r.deadline_note, "time_left_seconds": self.time_left,
            "reminders": {"count": r.reminder_count, "escalated_at": iso(r.escalated_at)},
            "clocks": [{"title": c.title, "due_at": iso(c.due_at), "citation": c.citation} for c in self.clocks],
            "held_seconds": self.held_seconds,
            "priority": r.priority, "issuing_authority": r.issuing_authority, "issuing_officer": r.issuing_officer,
            "requester_email": r.requester_email, "requester_phone": r.requester_phone, "case_number": r.case_number,
            "fir": {"number": r.fir_number, "police_station": r.police_station, "district": r.district,
                    "sections": json.loads(r.sections_json or "[]"), "officer_rank": r.officer_rank,
                    "notice_date": iso(r.notice_date)},
            "court": r.court, "purpose": r.purpose, "offence": r.offence, "offence_max_years": r.offence_max_years,
            "categories": self.categories, "date_from": iso(r.date_from), "date_to": iso(r.date_to),
            "emergency": r.emergency, "emergency_person": r.emergency_person, "emergency_nature": r.emergency_nature,
            "emergency_why": r.emergency_why, "ndo": r.ndo, "ndo_expires_at": iso(r.ndo_expires_at),
            "child_safety": r.child_safety, "notice": {"status": r.notice_status, "reason": r.notice_reason},
            "validation": {"missing": self.missing, "scope": self.scope},
            "verification": self.verification, "assignee": self.assignee, "blockers": self.blockers,
            "accounts": [{"id": a.id, "kind": a.kind, "value": a.value, "account_id": a.account_id,
                          "content_id": a.content_id} for a in self.accounts],
            "documents": [{"id": d.id, "filename": d.filename, "content_type": d.content_type, "size": d.size,
                           "sha256": d.sha256, "evidence": d.evidence_id} for d in self.documents],
            "callbacks": [{"at": iso(c.at), "number": c.number, "outcome": c.outcome, "spoke_with": c.spoke_with,
                           "by": c.by} for c in self.callbacks],
            "decisions": [{"id": d.id, "outcome": d.outcome, "categories": json.loads(d.categories_json),
                           "reason": d.reason, "status": d.status, "decided_by": self.users.get(d.decided_by, ""),
                           "approved_by": self.users.get(d.approved_by or 0, "")} for d in self.decisions],
            "preservations": [{"account_id": p.account_id, "status": p.status, "reference": p.platform_reference,
                               "evidence": p.evidence_id, "expires_at": iso(p.expires_at), "extensions": p.extensions,
                               "state": self.preservation_state(p)["state"],
                               "label": self.preservation_state(p)["label"], "days": p.days, "basis": p.basis,
                               "purpose": p.purpose, "extension_basis": p.extension_basis, "hold": p.hold_id,
                               "preserved_at": iso(p.preserved_at), "released_at": iso(p.released_at),
                               "posts": json.loads(p.content_json or "[]")}
                              for p in self.preservations],
            "candidates": [{"id": c.id, "entry": c.entry_id, "account_id": c.account_id, "username": c.username,
                            "display_name": c.display_name, "platform_status": c.platform_status,
                            "matched_on": c.matched_on, "state": c.state, "decided_by": c.decided_by}
                           for c in self.candidates],
            "removals": [{"content_id": r.content_id, "account_id": r.account_id, "status": r.status,
                          "outcome": r.outcome, "action": r.action_id, "queued_at": iso(r.queued_at),
                          "removed_at": iso(r.removed_at), "confirmed_at": iso(r.confirmed_at),
                          "error": r.last_error} for r in self.removals],
            "collected": [{"account_id": c.account_id, "category": c.category, "records": c.records,
                           "evidence": c.evidence_id} for c in self.collected],
            "productions": [{"id": p.id, "delivery": p.delivery, "sha256": p.sha256, "size": p.size,
                             "token_expires_at": iso(p.token_expires_at), "delivered_at": iso(p.delivered_at),
                             "downloads": p.downloads} for p in self.productions],
            "related_cases": [c.as_dict() for c in self.related_cases],
            "timeline": [{"at": iso(e.at), "actor": e.actor, "kind": e.kind, "text": e.text} for e in self.events],
        }


def request_view(session: Session, request: LegalRequest, now: datetime) -> RequestView:
    from bastion.legal.timeline import events_of

    labels = field_labels()
    decisions = review.decisions_of(session, request.id)
    user_ids = {d.decided_by for d in decisions} | {d.approved_by for d in decisions if d.approved_by}
    if request.assignee_id:
        user_ids.add(request.assignee_id)
    users = {u.id: u.username for u in (session.get(User, i) for i in user_ids) if u is not None}
    rule = get_instrument(session, request.instrument_key)
    return RequestView(
        request=request, rule=rule,
        categories=json.loads(request.categories_json or "[]"),
        missing=[labels.get(m, m) for m in json.loads(request.missing_json or "[]")],
        scope=json.loads(request.scope_json or "[]"), verification=verification.summary(session, request),
        accounts=intake.accounts_of(session, request.id), documents=intake.documents_of(session, request.id),
        callbacks=verification.callbacks_of(session, request.id), decisions=decisions,
        blockers=review.disclosure_blockers(session, request),
        preservations=preservation.preservations_of(session, request.id),
        collected=collection.collected_of(session, request.id), productions=produce.productions_of(session, request.id),
        related_cases=related.cases_for(session, request), events=events_of(session, request.id),
        assignee=users.get(request.assignee_id or 0, ""), users=users, time_left=clocks.time_left(request, now),
        candidates=resolution.candidates_of(session, request.id), removals=removal.removals_of(session, request.id),
        now=now, clocks=clocks.clocks_of(session, request, rule),
    )
