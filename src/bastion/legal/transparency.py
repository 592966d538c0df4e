"""What each request contributes to a transparency report: its outcome, what was sought and given,
when it was answered and whether its clock was met.

Computed from the request's own record (decisions, answer time, the clocks it ran on), so a report
never depends on someone remembering to fill in a form. The reporting issue counts these; this
module only says, per request, what there is to count.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.legal.models import LegalRequest
from bastion.legal.requests import accounts_of, decisions_of

#: Outcomes as a report counts them, from the request's status and its last decision.
OUTCOMES = ("produced_in_full", "produced_in_part", "refused", "removed", "preserved", "withdrawn",
            "fraudulent", "open")


@dataclass(frozen=True)
class RequestRecord:
    reference: str
    jurisdiction: str
    instrument: str
    emergency: bool
    child_safety: bool
    outcome: str
    categories_sought: tuple[str, ...]
    categories_produced: tuple[str, ...]
    accounts_named: int
    received_at: datetime
    answered_at: datetime | None
    due_at: datetime | None
    clock_met: bool | None  # None: no deadline, or still open and not yet due

    def as_dict(self) -> dict[str, Any]:
        row = asdict(self)
        for key in ("received_at", "answered_at", "due_at"):
            row[key] = row[key].isoformat() if row[key] else None
        return row


def record_of(session: Session, request: LegalRequest, now: datetime) -> RequestRecord:
    decisions = decisions_of(session, request.id)
    final = next((d for d in reversed(decisions) if d.status in ("approved", "final")), None)
    produced = tuple(json.loads(final.categories_json)) if final and final.outcome in ("produce", "produce_in_part") \
        else ()
    return RequestRecord(
        reference=request.reference, jurisdiction=request.jurisdiction, instrument=request.instrument_key,
        emergency=request.emergency, child_safety=request.child_safety, outcome=_outcome(request, final),
        categories_sought=tuple(json.loads(request.categories_json or "[]")), categories_produced=produced,
        accounts_named=len(accounts_of(session, request.id)), received_at=request.received_at,
        answered_at=request.answered_at, due_at=request.due_at, clock_met=_clock_met(request, now),
    )


def _outcome(request: LegalRequest, final: Any) -> str:
    if request.fraudulent or request.status == "fraudulent":
        return "fraudulent"
    if request.status in ("refused", "withdrawn"):
        return request.status
    if final is not None and request.answered_at is not None:
        return {"produce": "produced_in_full", "produce_in_part": "produced_in_part", "remove": "removed",
                "refuse": "refused"}.get(final.outcome, "open")
    if request.answered_at is not None:
        return "preserved"  # answered without a disclosure: a preservation confirmed
    return "open"


def _clock_met(request: LegalRequest, now: datetime) -> bool | None:
    if request.due_at is None:
        return None
    if request.answered_at is not None:
        return request.answered_at <= request.due_at
    return False if now > request.due_at else None


def records(session: Session, *, since: datetime, until: datetime, now: datetime) -> Iterator[RequestRecord]:
    """Every request received in [since, until), oldest first."""
    stmt = select(LegalRequest).where(LegalRequest.received_at >= since, LegalRequest.received_at < until) \
        .order_by(LegalRequest.received_at, LegalRequest.id)
    for request in session.scalars(stmt):
        yield record_of(session, request, now)
