#!/usr/bin/env python3
"""Big banks and the scan path: import, snapshot, restart, backlog catch-up and scans with N hashes banked.

Manual, slow, never part of the test run::

    python bench/bench_banks.py --sizes 0 1000000 10000000 --out bench/results/banks.json

For each size, in a fresh embedded database (SQLite, as `make run` uses):

* ``import``      `bastion banks import`'s path (streamed, 20k-row batches, bulk page cache): rows/s
* ``build``       the PDQ index built from the database (a restart with no snapshot)
* ``snapshot``    writing the snapshot, then a restart from it (what a server does after an import)
* ``backlog``     another import while a server runs: how long its first query waits (now: it does
                  not; the catch-up runs in the background) against the old synchronous replay,
                  and how long the catch-up takes in the background
* ``scan``        full scans (decode, PDQ + 8 variants, digests, match, record) of benign synthetic
                  JPEGs, one thread: scans/s and p50/p99, and the match step alone, so the ratio
                  between sizes shows what banked hashes cost the scan path

Images are benign pictures drawn by `bastion.dev.pictures` (never real media).
"""

from __future__ import annotations

import argparse
import io
import json
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
try:
    import bastion  # noqa: F401
except ImportError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT / "src"))

from bastion.banks import service, transfer  # noqa: E402
from bastion.clock import SystemClock  # noqa: E402
from bastion.db import make_engine, make_sessionmaker  # noqa: E402
from bastion.db.ids import bulk_write_cache  # noqa: E402
from bastion.db.migrate import upgrade  # noqa: E402
from bastion.dev.pictures import encode, picture  # noqa: E402
from bastion.matching import banked  # noqa: E402
from bastion.matching.banked import BankMatcher  # noqa: E402
from bastion.media import hash_media  # noqa: E402
from bastion.scanning.service import Scanner, UploadMeta  # noqa: E402

CLOCK = SystemClock()


def hash_lines(n: int, seed: int) -> Iterator[str]:
    """`pdq <hex>` lines of uniformly random hashes, generated in chunks (never all in memory)."""
    rng = np.random.default_rng(seed)
    for start in range(0, n, 100_000):
        chunk = rng.integers(0, 256, size=(min(100_000, n - start), 32), dtype=np.uint8)
        yield from (f"pdq {row.tobytes().hex()}\n" for row in chunk)


def timed(fn: Any) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def import_hashes(sessions: Any, bank_name: str, n: int, seed: int) -> float:
    with sessions() as session, bulk_write_cache(session):
        bank = service.get_bank(session, bank_name)
        (_, seconds) = timed(lambda: transfer.import_lines(session, bank, lambda: hash_lines(n, seed), "te",
                                                          actor="bench", clock=CLOCK))
    return seconds


def scan_figures(sessions: Any, matcher: BankMatcher, scans: int) -> dict[str, float]:
    images = [encode(picture(seed)) for seed in range(32)]
    scanner = Scanner(matcher, CLOCK)
    hashed = [hash_media(data, dihedral=True) for data in images]
    latencies, match_latencies = [], []
    with sessions() as session:
        scanner.scan_bytes(session, images[0], UploadMeta(), source="api", actor="bench")  # warm
        for i in range(scans):
            _, seconds = timed(lambda: scanner.scan_bytes(session, images[i % len(images)], UploadMeta(),
                                                          source="api", actor="bench"))
            session.commit()
            latencies.append(seconds)
            h = hashed[i % len(hashed)]
            _, seconds = timed(lambda: matcher.match(session, {"pdq": h.pdq, "md5": h.md5, "sha256": h.sha256},
                                                     pdq_variants=list(h.dihedral or ())))
            match_latencies.append(seconds)
    q = statistics.quantiles(latencies, n=100)
    return {"scans_per_s": len(latencies) / sum(latencies), "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * q[98], "match_per_s": len(match_latencies) / sum(match_latencies),
            "match_p50_ms": 1000 * statistics.median(match_latencies)}


def run_size(n: int, scans: int, backlog: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bastion-bench-banks-") as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bastion.db")
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            service.create_bank(session, name="BENCH", actor="bench", clock=CLOCK)
            session.commit()
        row: dict[str, Any] = {"hashes": n}
        if n:
            seconds = import_hashes(sessions, "BENCH", n, seed=1)
            row["import_s"], row["import_rows_per_s"] = seconds, n / seconds
        path = Path(tmp) / "index" / "pdq.snapshot"
        writer = BankMatcher(sessions, CLOCK, snapshot_path=path)
        _, row["build_from_db_s"] = timed(writer.load)
        _, row["snapshot_write_s"] = timed(writer.write_snapshot)
        server = BankMatcher(sessions, CLOCK, snapshot_path=path, refresh_seconds=0)
        _, row["restart_from_snapshot_s"] = timed(server.load)
        row["scan"] = scan_figures(sessions, server, scans)

        old_style = BankMatcher(sessions, CLOCK, snapshot_path=path, refresh_seconds=0)
        old_style.load()
        import_hashes(sessions, "BENCH", backlog, seed=2)
        probe = hash_media(encode(picture(99)), dihedral=True)
        with sessions() as session:
            _, row["backlog_first_query_s"] = timed(lambda: server.match(session, {"pdq": probe.pdq}))
            started = time.perf_counter()
            if server._catch_up is not None:
                server._catch_up.join()
            row["backlog_catch_up_s"] = time.perf_counter() - started + row["backlog_first_query_s"]
        _, row["backlog_sync_replay_s"] = timed(old_style.refresh)
        row["backlog"] = backlog
        engine.dispose()
        return row


def print_table(rows: list[dict[str, Any]]) -> None:
    base = rows[0]["scan"]["scans_per_s"]
    print(f"{'hashes':>11} {'import/s':>9} {'build s':>8} {'snap s':>7} {'restart s':>9} {'scans/s':>8} "
          f"{'vs 0':>5} {'p50 ms':>7} {'p99 ms':>7} {'match/s':>8} {'backlog':>8} {'1st q s':>8} {'bg s':>6} "
          f"{'old s':>6}")
    for r in rows:
        s = r["scan"]
        print(f"{r['hashes']:>11,} {r.get('import_rows_per_s', 0):>9,.0f} {r['build_from_db_s']:>8.2f} "
              f"{r['snapshot_write_s']:>7.2f} {r['restart_from_snapshot_s']:>9.2f} {s['scans_per_s']:>8.1f} "
              f"{s['scans_per_s'] / base:>5.2f} {s['p50_ms']:>7.1f} {s['p99_ms']:>7.1f} {s['match_per_s']:>8.0f} "
              f"{r['backlog']:>8,} {r['backlog_first_query_s']:>8.3f} {r['backlog_catch_up_s']:>6.1f} "
              f"{r['backlog_sync_replay_s']:>6.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 1_000_000])
    parser.add_argument("--scans", type=int, default=300)
    parser.add_argument("--backlog", type=int, default=100_000, help="hashes imported while a server runs")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        print(f"-- {n:,} hashes banked", flush=True)
        rows.append(run_size(n, args.scans, max(args.backlog, banked.SYNC_REPLAY_LIMIT + 1)))
    print_table(rows)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"machine": platform.platform(), "python": platform.python_version(),
                                        "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
