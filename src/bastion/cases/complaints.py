"""A Rule 3(2)(b) complaint becomes a review case at the top of the queue, on its 24-hour clock.

The grievance desk does not know about cases and cases do not know about complaints: the delivery
layer hands over the few plain facts a reviewer needs (the reference, the category, the content
and when the clock started), so neither domain imports the other. The case is of kind `ncii`: its
own classifications, no NCMEC report, no entry in the CSAM bank, and the same wellness protections
as any match (its media is fetched through the connector and shown blurred and grey).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import timers
from bastion.actions import outbox
from bastion.cases import routing
from bastion.cases.models import Case, CaseItem
from bastion.cases.service import REMOVAL_TIMER, _event
from bastion.clock import Clock

#: Complaint categories that IT Rules 2021 Rule 3(2)(b) covers (intimate or morphed imagery of the complainant).
RULE_3_2_B = ("ncii", "impersonation")
RULE_3_2_B_HOURS = 24
RULE_3_2_B_POLICY = "IT Rules 2021 Rule 3(2)(b)"
#: Above any match's priority (at most a few hundred), so these lead the general queue too.
NCII_PRIORITY = 1000


def open_for_complaint(session: Session, *, reference: str, category: str, content_ref: str, jurisdiction: str,
                       received_at: datetime, clock: Clock) -> Case | None:
    """Open the review case for a Rule 3(2)(b) complaint (None for other categories). Idempotent per reference."""
    if category not in RULE_3_2_B:
        return None
    existing = session.scalar(select(Case).where(Case.source == "complaint", Case.source_ref == reference))
    if existing is not None:
        return existing
    ref = content_ref.strip()
    content_id = ref if ref and "/" not in ref and ":" not in ref else ""
    due = received_at + timedelta(hours=RULE_3_2_B_HOURS)
    now = clock.now()
    case = Case(account_id=f"content:{ref[:240]}", status="new", priority=NCII_PRIORITY, opened_at=now,
                updated_at=now, removal_due_at=due, removal_policy=RULE_3_2_B_POLICY, kind="ncii", source="complaint",
                source_ref=reference[:100], jurisdiction=jurisdiction[:16])
    session.add(case)
    session.flush()
    _event(session, case, "bastion", "opened", clock, details={"complaint": reference, "category": category})
    session.add(CaseItem(case_id=case.id, scan_id=0, content_id=content_id[:255], bank_id=0, bank_name="",
                         bank_source=f"complaint {reference}"[:255], entry_id=0, signal_type="complaint", distance=0,
                         category=category, media_ref="", added_at=now))
    session.flush()
    timers.schedule(session, kind=REMOVAL_TIMER, due_at=due, clock=clock, subject=f"case:{case.id}",
                    payload={"case_id": case.id}, dedupe_key=f"case:{case.id}:removal")
    routing.route(session, case, clock=clock)
    return case


def complaint_outcome(session: Session, case: Case) -> tuple[str, str] | None:
    """What a concluded complaint case means for its complaint: (outcome, text), or None to leave it to the officer.

    A dismissed case is `no_action`; a confirmed one whose content the reviewer asked the platform to
    remove is `removed`. A confirmed case with nothing removed (a URL Bastion cannot act on) is left
    for the Grievance Officer to decide by hand, because telling the complainant "removed" would be false.
    """
    if case.source != "complaint" or not case.source_ref or case.status not in ("confirmed", "dismissed"):
        return None
    if case.status == "dismissed":
        return "no_action", ""
    removals = [a for a in outbox.actions_for(session, f"case:{case.id}") if a.kind == "remove_content"]
    return ("removed", "") if removals else None
