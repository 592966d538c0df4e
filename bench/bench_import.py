#!/usr/bin/env python3
"""`bastion banks import` alone: rows/s on SQLite, into an empty bank and into a bank already holding rows.

Manual, never part of the test run::

    python bench/bench_import.py                     # 1M hashes (the normal run)
    python bench/bench_import.py --ten-million       # 10M hashes too (slow; opt-in)
    python bench/bench_import.py --sizes 300000 --profile

Runs the command line's own path (`transfer.import_lines` inside `bulk_write_cache`) against a
fresh database file of the embedded kind (`make run`'s SQLite), with uniformly random PDQ hashes
plus 1% duplicate lines, and prints rows/s and the time a 10M import would take at that rate.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import platform
import pstats
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
try:
    import bastion  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT / "src"))

from bastion.banks import service, transfer  # noqa: E402
from bastion.clock import SystemClock  # noqa: E402
from bastion.db import make_engine, make_sessionmaker  # noqa: E402
from bastion.db.ids import bulk_write_cache  # noqa: E402
from bastion.db.migrate import upgrade  # noqa: E402

CLOCK = SystemClock()


def hash_lines(n: int, seed: int) -> Iterator[str]:
    """`pdq <hex>` lines, random, with every 100th line repeating an earlier one (duplicates)."""
    rng = np.random.default_rng(seed)
    previous = ""
    for start in range(0, n, 100_000):
        chunk = rng.integers(0, 256, size=(min(100_000, n - start), 32), dtype=np.uint8)
        for i, row in enumerate(chunk):
            line = previous if (i % 100 == 99 and previous) else f"pdq {row.tobytes().hex()}\n"
            previous = line
            yield line


def run(n: int, profile: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="bastion-bench-import-") as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bastion.db")
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            service.create_bank(session, name="BENCH", actor="bench", clock=CLOCK)
            session.commit()
        with sessions() as session, bulk_write_cache(session):
            bank = service.get_bank(session, "BENCH")
            prof = cProfile.Profile() if profile else None
            start = time.perf_counter()
            if prof:
                prof.enable()
            report = transfer.import_lines(session, bank, lambda: hash_lines(n, 1), "te", actor="bench", clock=CLOCK)
            if prof:
                prof.disable()
            seconds = time.perf_counter() - start
        if prof:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
        size = Path(f"{tmp}/bastion.db").stat().st_size
        engine.dispose()
    return {"lines": n, "imported": report.imported, "duplicates": report.duplicates, "seconds": seconds,
            "rows_per_s": n / seconds, "db_bytes": size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--ten-million", action="store_true", help="also import 10M hashes (slow)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    sizes = list(args.sizes) + ([10_000_000] if args.ten_million else [])
    rows = []
    for n in sizes:
        row = run(n, args.profile)
        rows.append(row)
        print(f"{n:>11,} lines  {row['seconds']:8.1f} s  {row['rows_per_s']:>9,.0f} rows/s  "
              f"10M at this rate: {10_000_000 / row['rows_per_s'] / 60:5.1f} min  (goal < 3 min)", flush=True)
    if args.out:
        args.out.write_text(json.dumps({"machine": platform.platform(), "python": platform.python_version(),
                                        "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
