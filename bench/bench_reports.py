#!/usr/bin/env python3
"""A year of reports over millions of scans: counting the scans against reading the daily totals.

Manual, never part of the test run::

    python bench/bench_reports.py                          # 1M scans over a year
    python bench/bench_reports.py --scans 10000000 --out bench/results/reports.json

Seeds SQLite (the embedded default) with `--scans` scans spread evenly over 2026, 2% of them
matched, then builds India's monthly report for each of the twelve months twice: once counting
the scans (nothing rolled up yet) and once from the daily totals, after `reports rollup` has
counted every day once. The figures of both builds are checked to be equal; the times and the
ratio are printed, with the one-off cost of the rollup itself beside them.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
try:
    import bastion  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import insert  # noqa: E402

from bastion.clock import ManualClock  # noqa: E402
from bastion.db import make_engine, make_sessionmaker, migrate  # noqa: E402
from bastion.reports import rollup  # noqa: E402
from bastion.reports.build import figures  # noqa: E402
from bastion.scanning.models import Scan, ScanMatch  # noqa: E402

YEAR = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2027, 1, 2, 9, tzinfo=UTC)
BATCH = 50_000


def seed(sessions, scans: int) -> None:  # type: ignore[no-untyped-def]
    step = timedelta(days=365) / scans
    with sessions() as session:
        for start in range(0, scans, BATCH):
            rows, matches = [], []
            for n in range(start + 1, min(scans, start + BATCH) + 1):
                when = YEAR + step * (n - 1)
                matched = n % 50 == 0
                rows.append({"id": n, "created_at": when, "source": "upload", "md5": f"{n:032x}", "sha1": "",
                             "sha256": f"{n:064x}", "match_count": int(matched)})
                if matched:
                    matches.append({"scan_id": n, "bank_id": 1 + n % 3, "bank_name": f"bank-{n % 3}", "entry_id": n,
                                    "signal_id": n, "signal_type": "pdq" if n % 4 else "md5", "distance": 0,
                                    "found_at": when})
            session.execute(insert(Scan), rows)
            session.execute(insert(ScanMatch), matches)
            session.commit()


def year_of_reports(sessions) -> tuple[float, list[dict]]:  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    with sessions() as session:
        built = [figures(session, "india-monthly", f"2026-{month:02d}", NOW)["detection"] for month in range(1, 13)]
    return time.perf_counter() - began, built


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        engine = make_engine(url)
        migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        began = time.perf_counter()
        seed(sessions, args.scans)
        seeded = time.perf_counter() - began
        live_seconds, live = year_of_reports(sessions)
        began = time.perf_counter()
        with sessions() as session:
            days = rollup.roll(session, ManualClock(NOW))
        rollup_seconds = time.perf_counter() - began
        rolled_seconds, rolled = year_of_reports(sessions)
        engine.dispose()
    if live != rolled:
        print("the figures differ between the two builds", file=sys.stderr)
        return 1
    result = {"scans": args.scans, "seed_seconds": round(seeded, 1), "days_rolled": days,
              "rollup_seconds": round(rollup_seconds, 2), "year_of_reports_from_scans_seconds": round(live_seconds, 3),
              "year_of_reports_from_totals_seconds": round(rolled_seconds, 3),
              "speedup": round(live_seconds / max(rolled_seconds, 1e-9), 1), "machine": platform.platform(),
              "cpus": __import__("os").cpu_count()}
    print(f"{args.scans:,} scans over 2026 (seeded in {seeded:.0f} s)")
    print(f"  twelve monthly reports, counting the scans:       {live_seconds:8.2f} s")
    print(f"  twelve monthly reports, from the daily totals:    {rolled_seconds:8.2f} s   ({result['speedup']}x)")
    print(f"  the one-off rollup of {days} days:                 {rollup_seconds:8.2f} s")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
