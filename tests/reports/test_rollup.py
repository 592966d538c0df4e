"""Daily detection totals: equal to counting the scans, rolled only once a day has closed, late records kept."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from bastion.clock import ManualClock
from bastion.reports import rollup
from bastion.reports.models import DailyDetection
from bastion.scanning.models import Scan, ScanMatch

START = datetime(2026, 9, 1, tzinfo=UTC)
BANKS = ("NCMEC", "industry", "own")
SIGNALS = ("md5", "pdq", "vpdq")


def _scan(session: Session, n: int, when: datetime, matches: list[tuple[str, str]]) -> None:
    scan = Scan(created_at=when, source="upload", md5=f"{n:032x}", sha1=f"{n:040x}", sha256=f"{n:064x}",
                match_count=len(matches))
    session.add(scan)
    session.flush()
    for i, (bank, signal) in enumerate(matches):
        session.add(ScanMatch(scan_id=scan.id, bank_id=BANKS.index(bank) + 1, bank_name=bank, entry_id=n * 10 + i,
                              signal_id=n * 10 + i, signal_type=signal, distance=0, found_at=when))


def _random_history(sessions: sessionmaker[Session], days: int, seed: int = 7) -> int:
    """Scans at random moments over `days` days (some at the stroke of midnight), a fifth of them matched."""
    rng = random.Random(seed)
    with sessions() as session:
        n = 0
        for day in range(days):
            for _ in range(rng.randint(0, 12)):
                n += 1
                offset = 0 if rng.random() < 0.1 else rng.randint(0, 86_399)
                when = START + timedelta(days=day, seconds=offset)
                matches = [(rng.choice(BANKS), rng.choice(SIGNALS)) for _ in range(rng.randint(1, 2))] \
                    if rng.random() < 0.2 else []
                _scan(session, n, when, matches)
        session.commit()
    return n


def test_the_totals_give_the_same_figures_as_the_scans_for_any_period(sessions: sessionmaker[Session]) -> None:
    _random_history(sessions, days=75)
    now = START + timedelta(days=80)
    with sessions() as session:
        assert rollup.roll(session, ManualClock(now)) == 79  # every closed day, the quiet ones after the scans too
        for since_day, until_day in ((0, 30), (30, 61), (10, 11), (0, 75), (70, 80), (74, 79), (79, 80)):
            since, until = START + timedelta(days=since_day), START + timedelta(days=until_day)
            assert rollup.split(session, since, until)[1] == min(until, START + timedelta(days=79))
            assert rollup.detection(session, since, until) == rollup.live_detection(session, since, until)
        reference: dict[str, dict[str, int]] = {}
        for found_at, bank in session.execute(select(ScanMatch.found_at, ScanMatch.bank_name)):
            reference.setdefault(found_at.date().isoformat(), {}).setdefault(bank, 0)
            reference[found_at.date().isoformat()][bank] += 1
        per_day = rollup.matches_per_day(session, START, START + timedelta(days=80))
        assert {d: c for d, c in per_day.items() if c} == {d: dict(sorted(c.items())) for d, c in reference.items()}
        assert len(per_day) == 80


def test_a_day_is_rolled_only_once_it_has_closed_for_the_grace_period(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        _scan(session, 1, START + timedelta(hours=10), [("NCMEC", "md5")])
        session.commit()
        midnight = START + timedelta(days=1)
        assert rollup.roll(session, ManualClock(midnight + timedelta(minutes=30))) == 0  # still within grace
        assert session.scalar(select(func.count()).select_from(DailyDetection)) == 0
        assert rollup.roll(session, ManualClock(midnight + rollup.GRACE)) == 1
        assert rollup.state(session, midnight + rollup.GRACE).rolled_until == midnight.date()


def test_a_record_that_commits_late_into_the_last_rolled_day_is_counted_on_the_next_run(
        sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        _scan(session, 1, START + timedelta(hours=23, minutes=59), [])
        session.commit()
        clock = ManualClock(START + timedelta(days=1, hours=2))
        rollup.roll(session, clock)
        _scan(session, 2, START + timedelta(hours=23, minutes=59, seconds=59), [("own", "pdq")])  # a slow transaction
        session.commit()
        clock.advance(timedelta(days=1))
        assert rollup.roll(session, clock) == 2  # the last rolled day again, and the day that has closed since
        day = (START, START + timedelta(days=1))
        assert rollup.detection(session, *day) == rollup.live_detection(session, *day)
        assert rollup.detection(session, *day)["scans"] == 2


def test_published_figures_survive_the_scans_retention(sessions: sessionmaker[Session]) -> None:
    """Once rolled, a day's totals stay when its scans are purged: a past report still adds up."""
    _random_history(sessions, days=10)
    period = (START, START + timedelta(days=10))
    with sessions() as session:
        rollup.roll(session, ManualClock(START + timedelta(days=12)))
        before = rollup.detection(session, *period)
        session.execute(delete(ScanMatch))
        session.execute(delete(Scan))
        session.commit()
        assert rollup.detection(session, *period) == before
        assert before["scans"] > 0


def test_a_period_that_does_not_start_at_midnight_is_counted_from_the_records(sessions: sessionmaker[Session]) -> None:
    _random_history(sessions, days=5)
    since, until = START + timedelta(hours=6), START + timedelta(days=4)
    with sessions() as session:
        rollup.roll(session, ManualClock(START + timedelta(days=6)))
        assert rollup.split(session, since, until) == (since, since)
        assert rollup.detection(session, since, until) == rollup.live_detection(session, since, until)


def test_nothing_to_roll_without_scans(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        assert rollup.roll(session, ManualClock(START)) == 0
        assert rollup.state(session, START).days_behind == 0
