"""Benchmark: CPU-seconds per minute of 720p video, Bastion's vPDQ against the reference ``vpdq``.

Not a test; run it by hand on a quiet machine (``make bench`` runs it)::

    .venv/bin/python bench/bench_video.py [--seconds 60] [--out bench/results/video.json]

It writes one synthetic 1280x720 H.264 clip at 30 fps (the test suite's generator: photo
scenery, moving shapes, noise), then hashes it at one hash per second with

* ``reference`` -- ``vpdq.computeHash`` (Meta's C++ vPDQ, built against Debian's FFmpeg);
* ``bastion``   -- ``bastion.media.video.hash_video_file`` (PyAV's FFmpeg), the function the
  server's isolated decoder process runs (isolation adds one process start, not per-frame work).

Each run is a fresh child process; its CPU time (all threads) is taken around the hashing call
alone, and its peak resident memory is the child's own. Reported per minute of video, with the ratio to the
reference and the real-time factor on this machine. ``--long`` adds the peak memory of a
10-minute 1080p clip (slow: it is encoded first).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_MEASURE = """
import json, sys, time
{setup}


def peak_mib():  # VmHWM: this process's own peak (ru_maxrss would carry the parent's over exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024


started_cpu, started = time.process_time(), time.perf_counter()
count = {call}
cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
print(json.dumps({{"cpu_s": cpu, "wall_s": wall, "features": count,
                  "peak_rss_mib": peak_mib()}}))
"""

#: Each measures only the hashing call (process CPU time: every thread), not start-up and imports.
RUNNERS = {
    "reference": _MEASURE.format(setup="import vpdq",
                                 call="len(vpdq.computeHash(sys.argv[1], seconds_per_hash=1.0))"),
    "bastion": _MEASURE.format(setup="from bastion.media.video import hash_video_file",
                               call="len(hash_video_file(sys.argv[1]).features)"),
}


def make_clip(path: Path, seconds: float, width: int, height: int) -> Path:
    from tests.media._videos import Clip, write_clip

    return write_clip(path, Clip(seed=5, seconds=seconds, fps=30, width=width, height=height,
                                 bit_rate=4_000_000 if height >= 1080 else 2_500_000))


def run(name: str, path: Path) -> dict[str, float]:
    """CPU seconds, wall seconds and peak RSS of one fresh child hashing ``path``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", RUNNERS[name], str(path)], check=True, capture_output=True,
                         text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--long", action="store_true", help="also a 10-minute 1080p clip's peak memory")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "video.json")
    args = parser.parse_args()
    results: dict[str, object] = {"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                                  "video": f"1280x720 H.264 30 fps, {args.seconds:.0f} s"}
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp) / "bench720.mp4", args.seconds, 1280, 720)
        rows = {}
        for name in RUNNERS:
            best = min((run(name, clip) for _ in range(args.repeat)), key=lambda r: r["cpu_s"])
            per_minute = best["cpu_s"] * 60 / args.seconds
            rows[name] = {**best, "cpu_s_per_video_minute": per_minute,
                          "realtime_factor_one_core": args.seconds / best["cpu_s"]}
        results["runs"] = rows
        reference = rows["reference"]["cpu_s_per_video_minute"]
        print(f"{'':18} {'CPU s / min':>12} {'vs reference':>13} {'x real time (1 core)':>21} {'peak MiB':>9}")
        for name, row in rows.items():
            print(f"{name:18} {row['cpu_s_per_video_minute']:12.2f} {reference / row['cpu_s_per_video_minute']:12.2f}x "
                  f"{row['realtime_factor_one_core']:21.1f} {row['peak_rss_mib']:9.0f}")
        if args.long:
            long_clip = make_clip(Path(tmp) / "bench1080.mp4", 600, 1920, 1080)
            results["ten_minutes_1080p"] = {name: run(name, long_clip) for name in ("reference", "bastion")}
            for name, row in results["ten_minutes_1080p"].items():  # type: ignore[union-attr]
                print(f"10 min 1080p {name:10} peak {row['peak_rss_mib']:.0f} MiB, {row['cpu_s']:.0f} CPU s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
