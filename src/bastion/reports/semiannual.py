"""The half-yearly timer: when each half-year closes (1 January, 1 July UTC), draft the law-enforcement
transparency report for the half that just closed and tell compliance staff.

Platforms publish these reports twice a year; the machinery (deduplication, idempotency, mail,
re-arming) is `reports.cadence`, shared with India's monthly report.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.reports import cadence
from bastion.reports.cadence import ACTOR, Cadence

__all__ = ["ACTOR", "CADENCE", "KIND", "TASK", "half_start", "last_closed", "schedule"]

TASK = "reports.le_transparency"
KIND = "le-transparency"


def half_start(at: datetime, offset: int = 0) -> datetime:
    """The start of the half-year `offset` halves from the one holding `at`."""
    index = at.year * 2 + (at.month > 6) + offset
    return datetime(index // 2, 1 + 6 * (index % 2), 1, tzinfo=UTC)


def _label(start: datetime) -> str:
    return f"{start.year:04d}-H{1 + (start.month > 6)}"


def last_closed(now: datetime) -> str:
    return CADENCE.last_closed(now)


CADENCE = Cadence(kind=KIND, task=TASK, title="Law-enforcement transparency report", start=half_start,
                  label=_label)


def schedule(session: Session, clock: Clock) -> None:
    cadence.schedule(session, CADENCE, clock)


run = cadence.register(CADENCE)
