"""Figures over time for the landing pages: rolling windows that end now, not reporting periods.

The transparency reports answer "what happened in November"; a reviewer or a lead opening Bastion
asks "how is the queue doing this month". Each function here reads a bounded window (days or weeks
ending at `now`) through indexed time columns and returns a `charts.Chart`, so the landing page and a
test see the same data. Buckets are UTC days and ISO weeks (Monday to Sunday, UTC): a chart has no
viewer's zone to draw in, so every title says UTC.

A case is *in the queue* from its opening until its first decision (confirmed or dismissed, from
the case's events); a decision is what the time-to-decision figures measure, not the later closing.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bastion.cases.models import Case, CaseEvent
from bastion.legal.transparency import records
from bastion.ncmec.tables import NcmecReport
from bastion.reports.charts import Chart
from bastion.scanning.models import ScanMatch

DECIDED = ("confirmed", "dismissed")
WAITING = ("new", "in_review", "escalated")
#: Upper bounds, in hours, of the time-to-decision buckets (the last bucket is open-ended).
DECISION_BUCKETS = ((1, "< 1 h"), (4, "1–4 h"), (24, "4–24 h"), (72, "1–3 days"), (168, "3–7 days"))
LONGER = "> 7 days"


def _days(now: datetime, days: int) -> list[datetime]:
    """The starts of the last `days` UTC days, today last."""
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return [today - timedelta(days=n) for n in range(days - 1, -1, -1)]


def _weeks(now: datetime, weeks: int) -> list[datetime]:
    """The Monday starts of the last `weeks` ISO weeks, this week last."""
    monday = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=now.weekday())
    return [monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def _bucket(starts: list[datetime], width: timedelta, moments: Iterable[datetime]) -> list[int]:
    counts = [0] * len(starts)
    first = starts[0]
    for moment in moments:
        index = int((moment - first) // width)
        if 0 <= index < len(starts):
            counts[index] += 1
    return counts


def matches_per_day(session: Session, now: datetime, days: int = 30) -> Chart:
    """Bank matches per UTC day, stacked by bank, over the last `days` days."""
    starts = _days(now, days)
    rows = session.execute(select(ScanMatch.found_at, ScanMatch.bank_name)
                           .where(ScanMatch.found_at >= starts[0], ScanMatch.found_at <= now)).all()
    banks = sorted({bank for _, bank in rows})
    series = {bank: _bucket(starts, timedelta(days=1), (at for at, b in rows if b == bank)) for bank in banks}
    return Chart("matches-per-day", f"Matches per day by bank, last {days} days (UTC)",
                 [s.strftime("%d %b") for s in starts], series, stacked=True, ylabel="matches")


def _decisions(session: Session):  # type: ignore[no-untyped-def]
    """Each case's first decision time, as a subquery (case_id, decided_at)."""
    return (select(CaseEvent.case_id, func.min(CaseEvent.at).label("decided_at"))
            .where(CaseEvent.to_status.in_(DECIDED)).group_by(CaseEvent.case_id).subquery())


def review_queue(session: Session, now: datetime, days: int = 30) -> Chart:
    """Cases waiting for a decision at the end of each day (bars) and the age of the oldest (line).

    A case past review with no decision event (imported, or decided before events were kept) left
    the queue at its last update."""
    starts = _days(now, days)
    decided = _decisions(session)
    found = session.execute(
        select(Case.opened_at, decided.c.decided_at, Case.status, Case.updated_at)
        .outerjoin(decided, decided.c.case_id == Case.id)
        .where(Case.opened_at <= now, or_(Case.status.in_(WAITING), decided.c.decided_at >= starts[0],
                                          Case.updated_at >= starts[0]))).all()
    rows = [(opened, done if done is not None or status in WAITING else updated)
            for opened, done, status, updated in found]
    sizes, oldest = [], []
    for start in starts:
        end = min(start + timedelta(days=1), now)
        waiting = [opened for opened, done in rows if opened < end and (done is None or done >= end)]
        sizes.append(len(waiting))
        oldest.append(round((end - min(waiting)).total_seconds() / 3600, 1) if waiting else 0.0)
    return Chart("review-queue", f"Review queue at the end of each day, last {days} days (UTC)",
                 [s.strftime("%d %b") for s in starts], {"cases waiting": sizes}, stacked=False, ylabel="cases",
                 lines={"oldest case (hours)": oldest}, y2label="hours")


def time_to_decision(session: Session, now: datetime, days: int = 30) -> Chart:
    """How long cases decided in the last `days` days waited, from opening to first decision."""
    since = now - timedelta(days=days)
    decided = _decisions(session)
    rows = session.execute(select(Case.opened_at, decided.c.decided_at).join(decided, decided.c.case_id == Case.id)
                           .where(decided.c.decided_at >= since, decided.c.decided_at <= now)).all()
    counts: Counter[str] = Counter(_decision_bucket((done - opened).total_seconds() / 3600) for opened, done in rows)
    labels = [label for _, label in DECISION_BUCKETS] + [LONGER]
    return Chart("time-to-decision", f"Time to decision, cases decided in the last {days} days",
                 labels, {"cases": [counts[label] for label in labels]}, stacked=False, ylabel="cases")


def _decision_bucket(hours: float) -> str:
    return next((label for bound, label in DECISION_BUCKETS if hours < bound), LONGER)


def cybertipline_per_week(session: Session, now: datetime, weeks: int = 12) -> Chart:
    """CyberTipline reports filed (finished with NCMEC) per ISO week, over the last `weeks` weeks."""
    starts = _weeks(now, weeks)
    moments = session.scalars(select(NcmecReport.finished_at)
                              .where(NcmecReport.finished_at >= starts[0], NcmecReport.finished_at <= now))
    return Chart("cybertipline-per-week", f"CyberTipline reports filed per week, last {weeks} weeks (UTC)",
                 [s.strftime("%d %b") for s in starts],
                 {"reports": _bucket(starts, timedelta(weeks=1), moments)}, stacked=False, ylabel="reports")


def legal_clocks_per_week(session: Session, now: datetime, weeks: int = 12) -> Chart:
    """Law-enforcement requests answered per ISO week, by whether their legal clock was met."""
    starts = _weeks(now, weeks)
    answered = [r for r in records(session, since=starts[0] - timedelta(days=366), until=now, now=now)
                if r.clock_met is not None and (r.answered_at or r.due_at)]
    met = [r.answered_at or r.due_at for r in answered if r.clock_met]
    breached = [r.answered_at or r.due_at for r in answered if not r.clock_met]
    return Chart("legal-clocks-per-week", f"Legal clocks met and breached per week, last {weeks} weeks (UTC)",
                 [s.strftime("%d %b") for s in starts],
                 {"met": _bucket(starts, timedelta(weeks=1), met),  # type: ignore[arg-type]
                  "breached": _bucket(starts, timedelta(weeks=1), breached)},  # type: ignore[arg-type]
                 stacked=False, ylabel="requests")


def requests_per_country(session: Session, now: datetime, days: int = 182) -> Chart:
    """Law-enforcement requests received in the last `days` days, per country."""
    counts = Counter(r.jurisdiction for r in records(session, since=now - timedelta(days=days), until=now, now=now))
    countries = sorted(counts)
    return Chart("requests-per-country", f"Requests per country, last {days} days",
                 countries, {"requests": [counts[c] for c in countries]}, stacked=False, ylabel="requests")
