"""The one seam between the grievance desk and review: a Rule 3(2)(b) complaint opens a review case.

Neither domain imports the other (see docs/architecture.md); the delivery layer, which already
uses both, passes the complaint's plain facts to `bastion.cases.complaints` in the same transaction
as the complaint itself, so a complaint never exists without its case or the reverse.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from bastion.cases.complaints import open_for_complaint
from bastion.cases.models import Case
from bastion.clock import Clock
from bastion.grievances.models import Complaint


def open_review_case(session: Session, complaint: Complaint, clock: Clock) -> Case | None:
    return open_for_complaint(session, reference=complaint.reference, category=complaint.category,
                              content_ref=complaint.content_ref, jurisdiction=complaint.jurisdiction,
                              received_at=complaint.received_at, clock=clock)
