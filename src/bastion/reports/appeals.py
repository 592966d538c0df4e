"""Appeal figures (DSA Art. 15(1)(d)/24(1); India's grievance reporting): received, decided, reversed, time taken.

Read from `bastion.appeals` records only. An appeal counts as received in the period it arrived and
as decided in the period it was decided, so one appeal can be received in one period and decided
in the next; `pending_at_end` is what was still open when the period closed.
"""

from __future__ import annotations

from statistics import median
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.appeals.models import Appeal
from bastion.reports.period import Period


def appeals(session: Session, period: Period, jurisdiction: str | None = None) -> dict[str, Any]:
    """Received, decided (upheld or reversed), decided after the deadline, pending at the end, median hours."""
    stmt = select(Appeal.received_at, Appeal.decided_at, Appeal.due_at, Appeal.outcome).where(
        Appeal.received_at < period.until)
    if jurisdiction:
        stmt = stmt.where(Appeal.jurisdiction == jurisdiction)
    out = {"received": 0, "decided": 0, "upheld": 0, "reversed": 0, "decided_late": 0, "pending_at_end": 0}
    hours: list[float] = []
    for received_at, decided_at, due_at, outcome in session.execute(stmt).all():
        out["received"] += received_at >= period.since
        if decided_at is not None and period.since <= decided_at < period.until:
            out["decided"] += 1
            out["upheld"] += outcome == "upheld"
            out["reversed"] += outcome == "reversed"
            out["decided_late"] += decided_at > due_at
            hours.append((decided_at - received_at).total_seconds() / 3600)
        if decided_at is None or decided_at >= period.until:
            out["pending_at_end"] += 1
    result: dict[str, Any] = dict(out)
    result["median_hours_to_decide"] = round(median(hours), 1) if hours else None
    return result
