#!/usr/bin/env python3
"""Exchange fetch-and-apply against the streamed bank import, on the same list, in one run.

Manual, never part of the test run::

    python bench/bench_exchanges.py                    # 100k hashes
    python bench/bench_exchanges.py --sizes 20000 300000

A URL-list exchange fetches a `pdq <hex>` list from the local stand-in over HTTP (through the
SSRF guard, page by page, with provenance rows and a checkpoint per page) into an empty bank of
a fresh SQLite database; `transfer.import_lines` imports the same lines into another. Prints
hashes/s for each, their ratio, the time a 10M list would take at the exchange's rate, and the
process's peak resident memory.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
try:
    import bastion  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT / "src"))

import bastion.models  # noqa: E402,F401
from bastion.banks import service as banks, transfer  # noqa: E402
from bastion.clock import SystemClock  # noqa: E402
from bastion.db import make_engine, make_sessionmaker  # noqa: E402
from bastion.db.migrate import upgrade  # noqa: E402
from bastion.dev.exchanges import UrlListStandin  # noqa: E402
from bastion.exchanges import service  # noqa: E402
from bastion.exchanges.fetch import run_fetch  # noqa: E402
from bastion.scanning.urlfetch import FetchPolicy  # noqa: E402

CLOCK = SystemClock()
POLICY = FetchPolicy(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),), max_bytes=2 * 1024**3,
                     timeout_seconds=600)


def lines(n: int, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [f"pdq {row.tobytes().hex()}\n" for row in rng.integers(0, 256, size=(n, 32), dtype=np.uint8)]


def fresh_db(tmp: str, name: str):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp}/{name}.db")
    upgrade(engine)
    return engine, make_sessionmaker(engine)


def run(n: int) -> dict[str, float]:
    text = lines(n, seed=n)
    with tempfile.TemporaryDirectory(prefix="bastion-bench-exchanges-") as tmp, UrlListStandin(clock=CLOCK.now) as lists:
        url = lists.publish("bench", "".join(text))
        engine, sessions = fresh_db(tmp, "exchange")
        with sessions() as session:
            banks.create_bank(session, name="BENCH", actor="bench", clock=CLOCK)
            exchange = service.add_exchange(session, name="BENCH_LIST", api="url_list",
                                            settings={"url": url, "format": "te"}, bank_names=["BENCH"],
                                            credentials={}, fetch_every_minutes=60, actor="bench", clock=CLOCK,
                                            secret=b"bench", policy=POLICY)
            session.commit()
            exchange_id = exchange.id
        start = time.perf_counter()
        report = run_fetch(sessions, exchange_id, clock=CLOCK, secret=b"bench", policy=POLICY)
        fetched = time.perf_counter() - start
        assert report.status == "ok" and report.added == n, report
        engine.dispose()

        engine, sessions = fresh_db(tmp, "import")
        with sessions() as session:
            bank = banks.create_bank(session, name="BENCH", actor="bench", clock=CLOCK)
            session.commit()
            start = time.perf_counter()
            imported = transfer.import_lines(session, bank, lambda: iter(text), "te", actor="bench", clock=CLOCK)
            elapsed = time.perf_counter() - start
        assert imported.imported == n
        engine.dispose()
    return {"hashes": n, "exchange_per_s": n / fetched, "import_per_s": n / elapsed,
            "ratio_import_over_exchange": (n / elapsed) / (n / fetched),
            "ten_million_minutes_at_exchange_rate": 10_000_000 / (n / fetched) / 60}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    results = [run(n) for n in args.sizes]
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'hashes':>10} {'exchange/s':>12} {'import/s':>10} {'import÷exchange':>16} {'10M at exchange rate':>22}")
    for r in results:
        print(f"{r['hashes']:>10} {r['exchange_per_s']:>12.0f} {r['import_per_s']:>10.0f} "
              f"{r['ratio_import_over_exchange']:>16.1f} {r['ten_million_minutes_at_exchange_rate']:>19.1f} min")
    print(f"peak resident memory: {peak_mib:.0f} MiB")
    if args.out:
        args.out.write_text(json.dumps({"machine": platform.platform(), "peak_rss_mib": peak_mib, "runs": results},
                                       indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
