"""The monthly timer: after each month closes, draft India's compliance report and tell compliance staff.

Rule 4(1)(d) wants the report every month. The timer wakes at the start of each month and drafts
the month that just closed; the machinery (deduplication, idempotency, mail, re-arming) is
`reports.cadence`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.reports import cadence
from bastion.reports.cadence import ACTOR, Cadence

__all__ = ["ACTOR", "CADENCE", "KIND", "TASK", "last_closed", "month_start", "needs_draft", "schedule"]

TASK = "reports.india_monthly"
KIND = "india-monthly"


def month_start(at: datetime, offset: int = 0) -> datetime:
    index = at.year * 12 + at.month - 1 + offset
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def last_closed(now: datetime) -> str:
    return CADENCE.last_closed(now)


CADENCE = Cadence(kind=KIND, task=TASK, title="India monthly compliance report (IT Rules 2021, Rule 4(1)(d))",
                  start=month_start, label=lambda start: start.strftime("%Y-%m"))


def needs_draft(session: Session, period: str) -> bool:
    return cadence.needs_draft(session, CADENCE, period)


def schedule(session: Session, clock: Clock) -> None:
    cadence.schedule(session, CADENCE, clock)


run = cadence.register(CADENCE)
