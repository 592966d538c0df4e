"""Reading scans back: recent ones, one by id, their matches, and the totals a dashboard shows.

The scan API, the Scans page and the dashboard read the same way; so would a CLI
listing or a report.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.errors import NotFound
from bastion.scanning.models import Scan, ScanMatch


class ScanNotFound(NotFound):
    """No scan has that id."""


def recent_scans(session: Session, *, limit: int, matched_only: bool = False) -> list[Scan]:
    """The newest `limit` scans, optionally only those that matched."""
    stmt = select(Scan).order_by(Scan.id.desc()).limit(limit)
    if matched_only:
        stmt = stmt.where(Scan.match_count > 0)
    return list(session.scalars(stmt))


def get_scan(session: Session, scan_id: int) -> Scan:
    scan = session.get(Scan, scan_id)
    if scan is None:
        raise ScanNotFound(f"No scan with id {scan_id}.")
    return scan


def matches_by_scan(session: Session, scan_ids: list[int]) -> dict[int, list[ScanMatch]]:
    """Each scan's matches, in the order they were found."""
    found: dict[int, list[ScanMatch]] = {scan_id: [] for scan_id in scan_ids}
    if scan_ids:
        for match in session.scalars(select(ScanMatch).where(ScanMatch.scan_id.in_(scan_ids)).order_by(ScanMatch.id)):
            found[match.scan_id].append(match)
    return found


@dataclass(frozen=True)
class ScanTotals:
    scans: int
    matched: int


def totals(session: Session) -> ScanTotals:
    scans = session.scalar(select(func.count()).select_from(Scan)) or 0
    matched = session.scalar(select(func.count()).select_from(Scan).where(Scan.match_count > 0)) or 0
    return ScanTotals(int(scans), int(matched))


def recent_matches(session: Session, *, limit: int) -> list[ScanMatch]:
    return list(session.scalars(select(ScanMatch).order_by(ScanMatch.id.desc()).limit(limit)))
