"""`make bench`: every benchmark, in one run, results to bench/results/ (never part of the test run).

Slow (the 10-million-hash index benchmark takes several minutes and ~10 GB of memory for the
python-threatexchange baseline); each script prints its own table with ratios.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
RUNS = [
    [sys.executable, str(HERE / "bench_hashing.py"), str(HERE / "results" / "hashing.json")],
    [sys.executable, str(HERE / "bench_index.py"), "--sizes", "1000000", "10000000",
     "--out", str(HERE / "results" / "index.json")],
    [sys.executable, str(HERE / "bench_banks.py"), "--sizes", "0", "1000000", "10000000",
     "--out", str(HERE / "results" / "banks.json")],
    [sys.executable, str(HERE / "bench_import.py"), "--out", str(HERE / "results" / "import.json")],
    # 10M import: opt-in (BENCH_IMPORT_10M=1), it takes over ten minutes and ~5 GB of disk.
    *([[sys.executable, str(HERE / "bench_import.py"), "--sizes", "--ten-million",
        "--out", str(HERE / "results" / "import-10m.json")]] if os.environ.get("BENCH_IMPORT_10M") else []),
    [sys.executable, str(HERE / "bench_merge.py"), "--sizes", "1000000", "10000000", "--repeat", "1",
     "--out", str(HERE / "results" / "merge.json")],
    [sys.executable, str(HERE / "bench_rotation.py"), "--out", str(HERE / "results" / "rotation.json")],
    [sys.executable, str(HERE / "bench_exchanges.py"), "--out", str(HERE / "results" / "exchanges.json")],
    [sys.executable, str(HERE / "bench_reports.py"), "--scans", "10000000",
     "--out", str(HERE / "results" / "reports.json")],
    [sys.executable, str(HERE / "bench_video.py"), "--out", str(HERE / "results" / "video.json")],
    # drives Debian's chromium (/usr/bin/chromium, or BASTION_TEST_CHROMIUM) through 200 cases, twice
    [sys.executable, str(HERE / "bench_reviewer.py"), "--cases", "200", "--out", str(HERE / "results" / "reviewer.json")],
    # needs PostgreSQL and RabbitMQ (BASTION_BENCH_POSTGRES_URL / BASTION_BENCH_AMQP_URL, see its docstring)
    [sys.executable, str(HERE / "bench_workers.py"), "--out", str(HERE / "results" / "workers.json")],
]


def main() -> int:
    for command in RUNS:
        print("$", " ".join(command), flush=True)
        result = subprocess.run(command, check=False)
        if result.returncode != 0:
            return result.returncode
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
