"""Grievance figures for India's monthly report: complaints received by category and the action taken.

Read from the grievance desk's own records (`bastion.grievances`), never entered by hand. Only
complaints under Indian jurisdiction count towards Rule 4(1)(d); what a complainant wrote, who they
are and what they pointed at never leave this module, only counts.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.grievances.models import Complaint
from bastion.grievances.service import CATEGORIES
from bastion.reports.period import Period

#: Outcomes that mean something was done to the content.
ACTED = ("removed", "restricted")


def _empty() -> dict[str, int]:
    return {"received": 0, "resolved": 0, "action_taken": 0, "removed": 0, "restricted": 0, "no_action": 0,
            "not_found": 0, "pending_at_end": 0}


def complaints(session: Session, period: Period, jurisdiction: str = "IN") -> dict[str, Any]:
    """Per category: received in the period; resolved in it and how; still pending when it closed."""
    rows = session.execute(
        select(Complaint.category, Complaint.received_at, Complaint.resolved_at, Complaint.outcome)
        .where(Complaint.jurisdiction == jurisdiction, Complaint.received_at < period.until)).all()
    by_category: dict[str, dict[str, int]] = {key: _empty() for key in CATEGORIES}
    for category, received_at, resolved_at, outcome in rows:
        row = by_category.setdefault(category, _empty())
        if received_at >= period.since:
            row["received"] += 1
        if resolved_at is not None and period.since <= resolved_at < period.until:
            row["resolved"] += 1
            row["action_taken"] += outcome in ACTED
            if outcome in ("removed", "restricted", "no_action", "not_found"):
                row[outcome] += 1
        if resolved_at is None or resolved_at >= period.until:
            row["pending_at_end"] += 1
    totals = _empty()
    for row in by_category.values():
        for key, value in row.items():
            totals[key] += value
    return {"by_category": dict(sorted(by_category.items())), "total": totals}


def category_titles() -> dict[str, str]:
    """The grievance desk's category names, for the printed report."""
    return dict(CATEGORIES)
