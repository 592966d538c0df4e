"""Detection figures for a report period: uploads scanned, matches by bank and signal type (aggregates only).

The figures come from the daily totals (`reports.rollup`) for the days already rolled, and from the
scans themselves for the rest, so a year's report does not read a year of scans.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bastion.reports import rollup
from bastion.reports.period import Period


def detection(session: Session, period: Period) -> dict[str, Any]:
    return rollup.detection(session, period.since, period.until)


def matches_per_day(session: Session, period: Period) -> dict[str, dict[str, int]]:
    """Matches per UTC day and bank, every day of the period present (for the chart)."""
    return rollup.matches_per_day(session, period.since, period.until)
