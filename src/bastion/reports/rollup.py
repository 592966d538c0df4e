"""Daily detection totals, kept current as scans arrive, so a year's report reads days, not scans.

A large platform scans tens of millions of uploads a year. Counting them again for every report
(and for every draft, correction and chart) reads every scan row of the period. Instead, once a
UTC day has closed, a timer counts that day's scans and matches once and keeps the totals in
`report_daily_detection`; a report sums the rolled days of its period and counts only the days not
yet rolled (normally today) from the scans themselves. `live_detection` is the brute-force
reference beside it: the tests hold the two equal on the same records.

Why recount rather than add one to a counter per scan: a counter row per day is a row every scan
of the day would lock, which serialises all scanning on PostgreSQL. A recount is a few indexed
range queries per day, run by one ticker.

Late records: a scan is stamped when it is stored, so a closed day gains no new scans, but a
transaction can commit a little after midnight. A day is rolled only `GRACE` after it closes, and
each run counts the last rolled day again, so a record that commits late still lands in its day.
Totals survive the records' retention: a report of a past year still adds up after its scans are
purged, which is what a published figure needs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bastion import timers
from bastion.clock import Clock
from bastion.executor import TaskContext, registry
from bastion.reports.models import DailyDetection
from bastion.scanning.models import Scan, ScanMatch

TASK = "reports.rollup"
GRACE = timedelta(hours=1)
#: Days rolled per transaction: a crash loses at most this much work, and the run resumes after it.
DAYS_PER_COMMIT = 7
SCANS, WITH_MATCH, BANK, SIGNAL, ROLLED = "scans", "scans_with_match", "bank", "signal", "rolled"


@dataclass(frozen=True)
class RollupState:
    """How far the totals reach: `rolled_until` is the first day not rolled (None: nothing rolled yet)."""

    first_day: date | None
    rolled_until: date | None
    closed_until: date

    @property
    def days_behind(self) -> int:
        if self.first_day is None:
            return 0
        start = self.rolled_until or self.first_day
        return max(0, (self.closed_until - start).days)


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _days(since: date, until: date) -> Iterator[date]:
    day = since
    while day < until:
        yield day
        day += timedelta(days=1)


def closed_until(now: datetime) -> date:
    """The first day that may not be rolled yet: a day is rolled once it has been closed for GRACE."""
    return (now - GRACE).date()


def state(session: Session, now: datetime) -> RollupState:
    first = [d for d in (session.scalar(select(func.min(Scan.created_at))),
                         session.scalar(select(func.min(ScanMatch.found_at)))) if d is not None]
    last = session.scalar(select(func.max(DailyDetection.day)).where(DailyDetection.metric == ROLLED))
    return RollupState(min(first).date() if first else None, last + timedelta(days=1) if last else None,
                       closed_until(now))


def _count_day(session: Session, day: date) -> list[DailyDetection]:
    since, until = _start(day), _start(day + timedelta(days=1))
    figures = live_detection(session, since, until)
    rows = [DailyDetection(day=day, metric=ROLLED, key="", n=1),
            DailyDetection(day=day, metric=SCANS, key="", n=figures["scans"]),
            DailyDetection(day=day, metric=WITH_MATCH, key="", n=figures["scans_with_match"])]
    rows += [DailyDetection(day=day, metric=BANK, key=k, n=n) for k, n in figures["matches_by_bank"].items()]
    rows += [DailyDetection(day=day, metric=SIGNAL, key=k, n=n) for k, n in figures["matches_by_signal_type"].items()]
    return rows


def roll(session: Session, clock: Clock, *, progress: Callable[[int, int], None] | None = None) -> int:
    """Count every closed day not rolled yet (and the last rolled one again); commits as it goes.

    Returns the number of days counted. Safe to run from any number of processes: a day's rows are
    replaced whole, so two runs that overlap write the same totals.
    """
    now_state = state(session, clock.now())
    if now_state.first_day is None:
        return 0
    start = now_state.first_day
    if now_state.rolled_until is not None:
        start = max(start, now_state.rolled_until - timedelta(days=1))
    days = list(_days(start, now_state.closed_until))
    for done, day in enumerate(days, 1):
        session.execute(delete(DailyDetection).where(DailyDetection.day == day))
        session.add_all(_count_day(session, day))
        if done % DAYS_PER_COMMIT == 0 or done == len(days):
            session.commit()
        if progress:
            progress(done, len(days))
    return len(days)


def live_detection(session: Session, since: datetime, until: datetime) -> dict[str, Any]:
    """The figures counted from the scans themselves (the reference the totals are checked against)."""
    in_scans = (Scan.created_at >= since, Scan.created_at < until)
    scans = session.scalar(select(func.count()).select_from(Scan).where(*in_scans)) or 0
    matched = session.scalar(select(func.count()).select_from(Scan).where(*in_scans, Scan.match_count > 0)) or 0
    in_period = (ScanMatch.found_at >= since, ScanMatch.found_at < until)
    by_bank = dict(session.execute(
        select(ScanMatch.bank_name, func.count()).where(*in_period).group_by(ScanMatch.bank_name)).all())
    by_signal = dict(session.execute(
        select(ScanMatch.signal_type, func.count()).where(*in_period).group_by(ScanMatch.signal_type)).all())
    return {"scans": scans, "scans_with_match": matched, "matches": sum(by_bank.values()),
            "matches_by_bank": dict(sorted(by_bank.items())), "matches_by_signal_type": dict(sorted(by_signal.items()))}


def _rolled_until(session: Session) -> date | None:
    last = session.scalar(select(func.max(DailyDetection.day)).where(DailyDetection.metric == ROLLED))
    return last + timedelta(days=1) if last else None


def split(session: Session, since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """[since, boundary) is read from the totals, [boundary, until) from the records.

    Only whole UTC days are read from the totals, so a period that does not start at midnight is
    counted from its records.
    """
    rolled = _rolled_until(session)
    if rolled is None or since != _start(since.date()):
        return since, since
    return since, max(since, min(until, _start(rolled)))


def detection(session: Session, since: datetime, until: datetime) -> dict[str, Any]:
    """The same figures as `live_detection`, from the daily totals where the days are rolled."""
    _, boundary = split(session, since, until)
    figures = live_detection(session, boundary, until) if boundary < until else live_detection(session, since, since)
    if boundary == since:
        return figures
    rolled = session.execute(select(DailyDetection.metric, DailyDetection.key, func.sum(DailyDetection.n))
                             .where(DailyDetection.day >= since.date(), DailyDetection.day < boundary.date())
                             .group_by(DailyDetection.metric, DailyDetection.key)).all()
    by_bank, by_signal = dict(figures["matches_by_bank"]), dict(figures["matches_by_signal_type"])
    for metric, key, n in rolled:
        n = int(n or 0)
        if metric == SCANS:
            figures["scans"] += n
        elif metric == WITH_MATCH:
            figures["scans_with_match"] += n
        elif metric == BANK:
            by_bank[key] = by_bank.get(key, 0) + n
        elif metric == SIGNAL:
            by_signal[key] = by_signal.get(key, 0) + n
    figures["matches_by_bank"] = dict(sorted(by_bank.items()))
    figures["matches_by_signal_type"] = dict(sorted(by_signal.items()))
    figures["matches"] = sum(by_bank.values())
    return figures


def matches_per_day(session: Session, since: datetime, until: datetime) -> dict[str, dict[str, int]]:
    """Matches per UTC day and bank, every day of the period present; rolled days from the totals."""
    days: dict[str, dict[str, int]] = {d.isoformat(): {} for d in _days(since.date(), until.date())}
    _, boundary = split(session, since, until)
    for day, bank, n in session.execute(select(DailyDetection.day, DailyDetection.key, DailyDetection.n).where(
            DailyDetection.metric == BANK, DailyDetection.day >= since.date(), DailyDetection.day < boundary.date())):
        days.setdefault(day.isoformat(), {})[bank] = int(n)
    for found_at, bank in session.execute(select(ScanMatch.found_at, ScanMatch.bank_name).where(
            ScanMatch.found_at >= boundary, ScanMatch.found_at < until)):
        counts = days.setdefault(found_at.date().isoformat(), {})
        counts[bank] = counts.get(bank, 0) + 1
    return {d: dict(sorted(c.items())) for d, c in days.items()}


def schedule(session: Session, clock: Clock) -> None:
    """Due now, then shortly after each midnight UTC (once the day's grace has passed)."""
    timers.schedule(session, kind=TASK, due_at=clock.now(), clock=clock, subject="reports:rollup", dedupe_key=TASK)


def _next_run(now: datetime) -> datetime:
    return _start(closed_until(now) + timedelta(days=1)) + GRACE + timedelta(minutes=5)


@registry.task(TASK)
def run(ctx: TaskContext, payload: dict[str, Any]) -> None:
    with ctx.sessions() as session:
        roll(session, ctx.clock)
        timers.schedule(session, kind=TASK, due_at=_next_run(ctx.clock.now()), clock=ctx.clock,
                        subject="reports:rollup", dedupe_key=TASK)
        session.commit()
