"""Detection figures: uploads scanned, matches by bank and signal type (aggregates only)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.reports.period import Period
from bastion.scanning.models import Scan, ScanMatch


def detection(session: Session, period: Period) -> dict[str, Any]:
    scans = session.scalar(select(func.count()).select_from(Scan)
                           .where(Scan.created_at >= period.since, Scan.created_at < period.until)) or 0
    matched = session.scalar(select(func.count()).select_from(Scan)
                             .where(Scan.created_at >= period.since, Scan.created_at < period.until,
                                    Scan.match_count > 0)) or 0
    in_period = (ScanMatch.found_at >= period.since, ScanMatch.found_at < period.until)
    by_bank = {name: n for name, n in session.execute(
        select(ScanMatch.bank_name, func.count()).where(*in_period).group_by(ScanMatch.bank_name))}
    by_signal = {name: n for name, n in session.execute(
        select(ScanMatch.signal_type, func.count()).where(*in_period).group_by(ScanMatch.signal_type))}
    return {"scans": scans, "scans_with_match": matched, "matches": sum(by_bank.values()),
            "matches_by_bank": dict(sorted(by_bank.items())), "matches_by_signal_type": dict(sorted(by_signal.items()))}


def matches_per_day(session: Session, period: Period) -> dict[str, dict[str, int]]:
    """Matches per UTC day and bank, every day of the period present (for the chart)."""
    days: dict[str, dict[str, int]] = {}
    day = period.since
    while day < period.until:
        days[day.date().isoformat()] = {}
        day += timedelta(days=1)
    for found_at, bank in session.execute(select(ScanMatch.found_at, ScanMatch.bank_name).where(
            ScanMatch.found_at >= period.since, ScanMatch.found_at < period.until)):
        counts = days[found_at.date().isoformat()]
        counts[bank] = counts.get(bank, 0) + 1
    return {d: dict(sorted(c.items())) for d, c in days.items()}
