"""The one seam between the grievance desk and review: a Rule 3(2)(b) complaint opens a review case,
and concluding that case resolves the complaint.

Neither domain imports the other (see docs/architecture.md); the delivery layer, which already
uses both, passes the complaint's plain facts to `bastion.cases.complaints` in the same transaction
as the complaint itself, so a complaint never exists without its case or the reverse.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.cases.complaints import complaint_outcome, open_for_complaint
from bastion.cases.models import Case
from bastion.clock import Clock
from bastion.grievances import service as grievances
from bastion.grievances.models import Complaint


def open_review_case(session: Session, complaint: Complaint, clock: Clock) -> Case | None:
    return open_for_complaint(session, reference=complaint.reference, category=complaint.category,
                              content_ref=complaint.content_ref, jurisdiction=complaint.jurisdiction,
                              received_at=complaint.received_at, clock=clock)


def resolve_from_case(session: Session, case: Case, *, actor: str, user_id: int | None, clock: Clock,
                      base_url: str) -> Complaint | None:
    """A concluded complaint case resolves its complaint in the same transaction: the outcome goes on the
    complaint's timeline, the complainant is told through the usual mail, and its clocks stop (a resolved
    complaint meets every clock, so its reminders and breach timers find nothing to do).

    A confirmed case with nothing removed leaves the complaint open with an internal note for the officer.
    """
    if case.source != "complaint" or not case.source_ref:
        return None
    complaint = session.scalar(select(Complaint).where(Complaint.reference == case.source_ref))
    if complaint is None or complaint.status == "resolved":
        return complaint
    decided = complaint_outcome(session, case)
    if decided is None:
        grievances.note(session, complaint, actor=actor, clock=clock, kind="case_concluded",
                        text=f"Review case {case.id} was {case.status}, but nothing was removed through the "
                             "platform: decide this complaint by hand.")
        return complaint
    outcome, text = decided
    grievances.decide(session, complaint, outcome=outcome, text=text, actor=actor, user_id=user_id, clock=clock,
                      base_url=base_url, via=f"review case {case.id}")
    return complaint
