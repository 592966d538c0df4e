#!/usr/bin/env python3
"""Asynchronous scans on `bastion worker` processes: throughput with 1 and 2 workers, and latency to the webhook.

The whole production path, on real services: `POST /api/v1/scans` (1024 px JPEGs, inline) →
PostgreSQL (job rows and the transactional outbox) → the relay → RabbitMQ → `bastion worker`
processes (decode, PDQ and its dihedral variants, three digests, the bank match, the scan record,
audit) → the webhook, its own task on the `deliver` queue → a signed POST to a receiver in this
process, which records when each result arrived.

Phases, for 1 and then 2 workers, in one run:

* ``throughput``  N images submitted at once (batches of 50); images/s from the first submission
  to the last webhook, and the steady rate between the 10th and 90th percentile of arrivals.
* ``latency``     images submitted one per request at about half the measured rate (an open loop,
  so queueing does not pile up); p50/p99 from submission to webhook arrival.

Beside them, bare decode + PDQ (with dihedral variants) on the same images in this process, one
core: what a worker could reach if nothing but the hashing cost anything.

Needs PostgreSQL and RabbitMQ: ``BASTION_BENCH_POSTGRES_URL`` (else ``BASTION_TEST_POSTGRES_URL``,
else postgresql://postgres@127.0.0.1:5432/postgres; a fresh database is created and dropped) and
``BASTION_BENCH_AMQP_URL`` (else ``BASTION_TEST_AMQP_URL``, else amqp://guest:guest@127.0.0.1:5672//).
Everything shares one machine: the figure is bounded by its cores (see the printed note).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
try:
    import bastion  # noqa: F401
except ImportError:  # a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT / "src"))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bastion.auth import apikeys, users  # noqa: E402
from bastion.auth.roles import Role  # noqa: E402
from bastion.banks import service, transfer  # noqa: E402
from bastion.broker import BrokerConfig  # noqa: E402
from bastion.broker.celery_app import make_celery  # noqa: E402
from bastion.clock import SystemClock  # noqa: E402
from bastion.config import Settings  # noqa: E402
from bastion.db import make_engine, make_sessionmaker  # noqa: E402
from bastion.db.engine import normalise_url  # noqa: E402
from bastion.db.migrate import upgrade  # noqa: E402
from bastion.dev.pictures import encode, picture  # noqa: E402
from bastion.media import hash_media  # noqa: E402

SECRET = "bench-secret-key-not-for-production-0123456789"
WEBHOOK_SECRET = "bench-webhook-secret"
CLOCK = SystemClock()


class Receiver:
    """The platform's webhook endpoint: the arrival time of each scan's result (first delivery only)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["Content-Length"]))
                now = time.perf_counter()
                with receiver.lock:
                    receiver.arrived.setdefault(self.headers["Idempotency-Key"].removeprefix("scan-"), now)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/scans"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, ids: list[str], timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                if all(i in self.arrived for i in ids):
                    return True
            time.sleep(0.05)
        return False


def tree_cpu_seconds(roots: list[int]) -> float:
    """CPU seconds (user + system) used so far by `roots` and every live descendant (Linux /proc; 0 elsewhere).

    Decoder processes are children of their worker, so this is the whole cost of the workers, whatever
    else the shared machine is doing: the figure the sizing is derived from.
    """
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    procs: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # after the name: state ppid ... utime(12) stime(13) cutime(14) cstime(15), counted from state = 0
        procs[int(entry.parent.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]) / tick)
    wanted, total = set(roots), 0.0
    changed = True
    while changed:
        changed = False
        for pid, (ppid, _) in procs.items():
            if ppid in wanted and pid not in wanted:
                wanted.add(pid)
                changed = True
    for pid in wanted:
        total += procs.get(pid, (0, 0.0))[1]
    return total


def images(n: int) -> list[bytes]:
    """Benign synthetic 1024×768 'photos' (sky, hills, shapes), JPEG quality 90."""
    return [encode(picture(10_000 + i, (1024, 768))) for i in range(n)]


def bare_hashing(pictures: list[bytes]) -> tuple[float, float]:
    """(images/s, CPU ms per image) for decode + PDQ with dihedral variants + digests, in this process (one core)."""
    hash_media(pictures[0], dihedral=True, fast=True)
    started, cpu = time.perf_counter(), time.process_time()
    for data in pictures:
        hash_media(data, dihedral=True, fast=True)
    return len(pictures) / (time.perf_counter() - started), 1000 * (time.process_time() - cpu) / len(pictures)


class Bench:
    def __init__(self, postgres: str, amqp: str, workdir: Path, concurrency: int, decode_workers: int) -> None:
        self.receiver = Receiver()
        self.amqp, self.workdir, self.concurrency = amqp, workdir, concurrency
        self.settings = Settings(data_dir=workdir / "api", database_url=postgres, secret_key=SECRET, broker_url=amqp,
                                 scan_webhook_url=self.receiver.url, scan_webhook_secret=WEBHOOK_SECRET,
                                 scan_queue_max_depth=100_000, media_decode_workers=decode_workers)
        self.env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "BASTION_DATABASE_URL": postgres,
                    "BASTION_SECRET_KEY": SECRET, "BASTION_BROKER_URL": amqp,
                    "BASTION_SCAN_WEBHOOK_URL": self.receiver.url, "BASTION_SCAN_WEBHOOK_SECRET": WEBHOOK_SECRET,
                    "BASTION_MEDIA_DECODE_WORKERS": str(decode_workers), "BASTION_LOG_LEVEL": "WARNING"}
        self.engine = make_engine(postgres)
        self.sessions = make_sessionmaker(self.engine)
        from fastapi.testclient import TestClient

        from bastion.web.app import create_app

        self.client = TestClient(create_app(self.settings, engine=self.engine))
        self.headers = {"Authorization": f"Bearer {self._key()}"}
        self.workers: list[subprocess.Popen[bytes]] = []
        self.seq = 0

    def _key(self) -> str:
        with self.sessions() as session:
            owner = users.create_user(session, username="bench-platform", role=Role.PLATFORM, password=None,
                                      email="bench@example.invalid", actor="bench", clock=CLOCK)
            issued = apikeys.create_key(session, owner, name="bench", scopes=None,
                                        minter=apikeys.Minter(actor="bench", role=None), clock=CLOCK)
            bank = service.create_bank(session, name="BENCH", actor="bench", clock=CLOCK)
            lines = "".join(f"pdq {uuid.UUID(int=i).hex * 2}\n" for i in range(1, 1001))  # 1,000 hashes banked
            transfer.import_lines(session, bank, lambda: iter(lines.splitlines(keepends=True)), "te", actor="bench",
                                  clock=CLOCK)
            session.commit()
            return issued.secret

    def start_workers(self, count: int) -> None:
        self.stop_workers()
        make_celery(BrokerConfig(url=self.amqp)).control.purge()
        for i in range(count):
            env = {**self.env, "BASTION_DATA_DIR": str(self.workdir / f"worker-{i}")}
            log = (self.workdir / f"worker-{count}-{i}.log").open("wb")
            self.workers.append(subprocess.Popen(
                [sys.executable, "-m", "bastion.cli.main", "worker", "--queues", "scan,deliver",
                 "--concurrency", str(self.concurrency)], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT))
        self.submit_batch(images(4 * count), wait=True)  # warm: every worker up, its index loaded, its decoders started

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
        self.workers = []

    def _items(self, pictures: list[bytes]) -> list[dict[str, Any]]:
        items = []
        for data in pictures:
            self.seq += 1
            items.append({"data": base64.b64encode(data).decode(), "content_id": f"bench-{self.seq}",
                          "account_id": f"user-{self.seq % 97}"})
        return items

    def submit_batch(self, pictures: list[bytes], wait: bool = False) -> tuple[list[str], float]:
        started = time.perf_counter()
        response = self.client.post("/api/v1/scans", json={"items": self._items(pictures)}, headers=self.headers)
        if response.status_code != 202:
            raise RuntimeError(f"submission refused: {response.status_code} {response.text[:300]}")
        ids = [item["id"] for item in response.json()["items"]]
        if wait and not self.receiver.wait_for(ids, 300):
            raise RuntimeError("the workers did not answer within 300 s; see the worker logs in " + str(self.workdir))
        return ids, started

    def throughput(self, pictures: list[bytes]) -> dict[str, Any]:
        pids = [w.pid for w in self.workers]
        cpu_before, api_before = tree_cpu_seconds(pids), time.process_time()
        started = time.perf_counter()
        ids: list[str] = []
        for start in range(0, len(pictures), 50):
            ids += self.submit_batch(pictures[start:start + 50])[0]
        submitted = time.perf_counter() - started
        if not self.receiver.wait_for(ids, 900):
            raise RuntimeError("results missing after 900 s; see the worker logs in " + str(self.workdir))
        worker_cpu, api_cpu = tree_cpu_seconds(pids) - cpu_before, time.process_time() - api_before
        arrivals = sorted(self.receiver.arrived[i] for i in ids)
        total = arrivals[-1] - started
        lo, hi = arrivals[len(arrivals) // 10], arrivals[(len(arrivals) * 9) // 10]
        steady = (len(arrivals) * 8 // 10) / (hi - lo) if hi > lo else float("nan")
        return {"images": len(ids), "seconds": total, "images_per_s": len(ids) / total, "steady_images_per_s": steady,
                "api_accept_per_s": len(ids) / submitted, "worker_cpu_ms_per_image": 1000 * worker_cpu / len(ids),
                "api_cpu_ms_per_image": 1000 * api_cpu / len(ids)}

    def latency(self, pictures: list[bytes], rate: float) -> dict[str, Any]:
        gap = 1.0 / rate
        sent: dict[str, float] = {}
        next_at = time.perf_counter()
        for data in pictures:
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            ids, started = self.submit_batch([data])
            sent[ids[0]] = started
            next_at += gap
        if not self.receiver.wait_for(list(sent), 600):
            raise RuntimeError("results missing after 600 s; see the worker logs in " + str(self.workdir))
        seconds = sorted(self.receiver.arrived[i] - t for i, t in sent.items())
        q = statistics.quantiles(seconds, n=100, method="inclusive")
        return {"images": len(seconds), "offered_per_s": rate, "p50_ms": 1000 * statistics.median(seconds),
                "p99_ms": 1000 * q[98], "max_ms": 1000 * seconds[-1]}

    def close(self) -> None:
        self.stop_workers()
        self.client.close()
        self.engine.dispose()
        self.receiver.server.shutdown()


def fresh_database(base: str) -> tuple[str, Any]:
    name = f"bastion_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_url(base)).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=400, help="images per throughput phase")
    parser.add_argument("--latency-images", type=int, default=100, help="images per latency phase")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, default=4, help="task threads per worker")
    parser.add_argument("--decode-workers", type=int, default=2, help="decoder processes per worker (0: in-process)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    postgres = (os.environ.get("BASTION_BENCH_POSTGRES_URL") or os.environ.get("BASTION_TEST_POSTGRES_URL")
                or "postgresql://postgres@127.0.0.1:5432/postgres")
    amqp = (os.environ.get("BASTION_BENCH_AMQP_URL") or os.environ.get("BASTION_TEST_AMQP_URL")
            or "amqp://guest:guest@127.0.0.1:5672//")

    pictures = images(max(args.images, args.latency_images))
    size_kb = statistics.mean(len(p) for p in pictures) / 1024
    bare, bare_ms = bare_hashing(pictures[:40])
    print(f"{len(pictures)} JPEGs 1024x768 (mean {size_kb:.0f} KB); bare decode + PDQ + dihedral: {bare:.1f} images/s "
          f"on one core ({bare_ms:.0f} ms CPU each); load average {os.getloadavg()[0]:.1f}", flush=True)
    url, drop = fresh_database(postgres)
    import tempfile

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bastion-bench-workers-") as tmp:
        bench = Bench(url, amqp, Path(tmp), args.concurrency, args.decode_workers)
        try:
            for count in args.workers:
                print(f"-- {count} worker(s)", flush=True)
                bench.start_workers(count)
                row: dict[str, Any] = {"workers": count, **bench.throughput(pictures[:args.images])}
                row["latency"] = bench.latency(pictures[:args.latency_images], max(0.5, row["steady_images_per_s"] / 2))
                rows.append(row)
                print(f"   {row['images_per_s']:.1f} images/s ({row['steady_images_per_s']:.1f} steady), "
                      f"p50 {row['latency']['p50_ms']:.0f} ms, p99 {row['latency']['p99_ms']:.0f} ms", flush=True)
        finally:
            bench.close()
            drop()

    base = rows[0]
    print()
    print(f"{'workers':>7} {'images/s':>9} {'steady/s':>9} {'x 1 worker':>10} {'efficiency':>10} {'vs bare':>8} "
          f"{'api/s':>7} {'offered/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'p99/p50':>7} {'wCPU ms':>8} {'aCPU ms':>8}")
    for r in rows:
        speedup = r["steady_images_per_s"] / base["steady_images_per_s"]
        lat = r["latency"]
        print(f"{r['workers']:>7} {r['images_per_s']:>9.1f} {r['steady_images_per_s']:>9.1f} {speedup:>10.2f} "
              f"{speedup / (r['workers'] / base['workers']):>10.0%} {r['steady_images_per_s'] / bare:>8.2f} "
              f"{r['api_accept_per_s']:>7.0f} {lat['offered_per_s']:>9.1f} {lat['p50_ms']:>7.0f} {lat['p99_ms']:>7.0f} "
              f"{lat['p99_ms'] / lat['p50_ms']:>7.1f} {r['worker_cpu_ms_per_image']:>8.0f} "
              f"{r['api_cpu_ms_per_image']:>8.1f}")
    cores = os.cpu_count() or 1
    per_image = max(r["worker_cpu_ms_per_image"] for r in rows) / 1000
    print(f"\nworker CPU per image (whole worker: hashing, database, broker, webhook): "
          f"{1000 * per_image:.0f} ms, against {bare_ms:.0f} ms for bare hashing ({1000 * per_image / bare_ms:.1f}x).")
    print(f"sizing: 5,000 images/s needs {5000 * per_image:,.0f} worker cores busy, {5000 * per_image / 0.7:,.0f} at "
          f"70% utilisation, i.e. {5000 * per_image / 0.7 / 16:,.0f} 16-core worker machines at this machine's speed "
          f"per core; API: {max(r['api_cpu_ms_per_image'] for r in rows):.1f} ms CPU per image accepted.")
    print(f"\nload average now {os.getloadavg()[0]:.1f}. bare hashing: {bare:.1f} images/s per core; this machine has {cores} cores, shared by the API (in this "
          "process), PostgreSQL, RabbitMQ, the webhook receiver and the workers (each with its decoder processes). "
          "Past one worker per core the figure measures the machine, not the design: scaling efficiency here is "
          "bounded by the cores left once the services have theirs.")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"machine": platform.platform(), "cores": cores, "python": platform.python_version(),
                                        "load_average": os.getloadavg(), "bare_images_per_s": bare,
                                        "bare_cpu_ms_per_image": bare_ms,
                                        "image_kb": size_kb, "rows": rows,
                                        "at": datetime.now(timezone.utc).isoformat()}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
