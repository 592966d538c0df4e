#!/usr/bin/env python3
"""Folding pending additions into the MIH tables: incremental merge against the full rebuild.

Manual, never part of the test run::

    python bench/bench_merge.py                       # 1M rows + 20k pending (the compaction point)
    python bench/bench_merge.py --sizes 1000000 10000000 --pending 20000 --out bench/results/merge.json

The live index compacts every 20,000 pending changes by rebuilding its tables from all rows
(`MIHTables.build`). `MIHTables.appended` merges rows whose ids are above every stored id (what
a bank import and the change log produce) into the existing tables instead. Both are timed on
the same random hashes, the results are checked to be identical array for array, and the
ratio is printed.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
try:
    import bastion  # noqa: F401
except ImportError:
    sys.path.insert(0, str(ROOT / "src"))

from bastion.matching.mih import MIHTables  # noqa: E402


def run(n: int, pending: int, repeat: int) -> dict:
    rng = np.random.default_rng(n)
    old = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    new = rng.integers(0, 256, size=(pending, 32), dtype=np.uint8)
    old_ids = np.arange(1, n + 1, dtype=np.int64)
    new_ids = np.arange(n + 1, n + pending + 1, dtype=np.int64)
    base = MIHTables.build(old_ids, old)
    all_ids, all_hashes = np.concatenate([old_ids, new_ids]), np.concatenate([old, new])
    rebuild, merge = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        full = MIHTables.build(all_ids, all_hashes, m=base.layout.m)
        rebuild.append(time.perf_counter() - start)
        start = time.perf_counter()
        merged = base.appended(new_ids, new)
        merge.append(time.perf_counter() - start)
    assert merged is not None
    assert all(np.array_equal(getattr(merged, a), getattr(full, a)) for a in ("ids", "words", "offsets", "postings"))
    return {"rows": n, "pending": pending, "rebuild_s": min(rebuild), "merge_s": min(merge),
            "speedup": min(rebuild) / min(merge)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--pending", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        r = run(n, args.pending, args.repeat)
        rows.append(r)
        print(f"{n:>11,} rows + {r['pending']:,} pending: rebuild {r['rebuild_s']:.2f} s, merge {r['merge_s']:.2f} s, "
              f"merge is {r['speedup']:.1f}x faster (identical tables)", flush=True)
    if args.out:
        args.out.write_text(json.dumps({"machine": platform.platform(), "python": platform.python_version(),
                                        "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
