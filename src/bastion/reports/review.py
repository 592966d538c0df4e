"""Review figures: cases opened in the period, and how many of those are confirmed or dismissed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.cases.models import Case
from bastion.reports.period import Period


def review(session: Session, period: Period) -> dict[str, Any]:
    by_status = {status: n for status, n in session.execute(
        select(Case.status, func.count()).where(Case.opened_at >= period.since, Case.opened_at < period.until)
        .group_by(Case.status))}
    return {"cases_opened": sum(by_status.values()), "confirmed": by_status.get("confirmed", 0),
            "dismissed": by_status.get("dismissed", 0), "by_status": dict(sorted(by_status.items()))}
