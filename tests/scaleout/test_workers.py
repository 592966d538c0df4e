"""The headline: two `bastion worker` processes on a real broker, one SIGKILLed mid-way, every scan once.

Runs on RabbitMQ and on Redis, with PostgreSQL (workers on several machines share one
database). The batch goes through the real API; the workers are real `bastion worker`
processes; the webhook receiver is a real HTTP server checking each signature.
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from bastion.batchscan.models import ScanJob
from bastion.broker import BrokerConfig
from bastion.broker.celery_app import make_celery
from bastion.clock import ManualClock
from bastion.config import Settings
from bastion.db import make_engine, make_sessionmaker
from bastion.platform.signing import SignatureVerifier
from bastion.scanning.models import Scan
from tests.conftest import SECRET, _truncate, api_key
from tests.livehttp import free_port

ROOT = Path(__file__).resolve().parents[2]
SCANS = int(os.environ.get("BASTION_TEST_WORKER_SCANS", "300"))
WEBHOOK_SECRET = "scan-webhook-secret-for-tests"
#: Redis only: short, so the killed worker's messages come back within seconds.
VISIBILITY = 4


def image(seed: int) -> bytes:
    """A small, benign, distinct noise picture."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (48, 48, 3), dtype=np.uint8).repeat(2, axis=0).repeat(2, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


class Receiver:
    """A platform's webhook endpoint: verifies each signature and counts deliveries by Idempotency-Key."""

    def __init__(self) -> None:
        self.keys: Counter[str] = Counter()
        self.bodies: dict[str, dict[str, Any]] = {}
        self.bad = 0
        verifier, receiver = SignatureVerifier(WEBHOOK_SECRET), self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    verifier.verify("POST", self.path, body, dict(self.headers))
                except Exception:
                    receiver.bad += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                key = self.headers["Idempotency-Key"]
                receiver.keys[key] += 1
                receiver.bodies[key] = json.loads(body)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/scans"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bastion.cli.main", "worker", "--queues", "scan,deliver", "--concurrency", "4"],
        env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, cwd=ROOT)


def test_two_workers_one_killed_every_scan_recorded_once(broker_url: str, postgres_database: str, tmp_path: Path,
                                                         receiver: Receiver) -> None:
    _truncate(postgres_database)
    make_celery(BrokerConfig(url=broker_url)).control.purge()  # nothing left over from another run
    settings = Settings(data_dir=tmp_path / "var", database_url=postgres_database, secret_key=SECRET,
                        broker_url=broker_url, broker_visibility_timeout_seconds=VISIBILITY,
                        scan_webhook_url=receiver.url, scan_webhook_secret=WEBHOOK_SECRET,
                        media_decode_workers=0, index_refresh_seconds=0, scan_queue_max_depth=SCANS)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "BASTION_DATABASE_URL": postgres_database,
           "BASTION_SECRET_KEY": SECRET, "BASTION_DATA_DIR": str(tmp_path / "var"), "BASTION_BROKER_URL": broker_url,
           "BASTION_BROKER_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY), "BASTION_SCAN_WEBHOOK_URL": receiver.url,
           "BASTION_SCAN_WEBHOOK_SECRET": WEBHOOK_SECRET, "BASTION_MEDIA_DECODE_WORKERS": "0",
           "BASTION_LOG_LEVEL": os.environ.get("BASTION_TEST_WORKER_LOG_LEVEL", "WARNING")}
    engine = make_engine(postgres_database)
    sessions = make_sessionmaker(engine)
    workers = [start_worker(env, tmp_path / f"worker-{i}.log") for i in range(2)]
    began = time.monotonic()
    try:
        from bastion.web.app import create_app

        clock = ManualClock(datetime.now(timezone.utc))  # the API's; the workers keep real time
        with TestClient(create_app(settings, clock=clock, engine=engine)) as client:
            headers = api_key(client, sessions, clock)
            ids: list[str] = []
            for start in range(0, SCANS, 100):
                items = [{"data": base64.b64encode(image(seed)).decode(), "content_id": f"post-{seed}",
                          "account_id": f"user-{seed % 7}"} for seed in range(start, min(start + 100, SCANS))]
                response = client.post("/api/v1/scans", json={"items": items}, headers=headers)
                assert response.status_code == 202, response.text
                ids += [item["id"] for item in response.json()["items"]]
        assert len(set(ids)) == SCANS

        def finished() -> int:
            with sessions() as session:
                return int(session.scalar(select(func.count()).select_from(ScanJob)
                                          .where(ScanJob.status.in_(("done", "failed", "dead")))) or 0)

        deadline = time.monotonic() + 120
        victim = workers[0].pid

        def in_flight_on_victim() -> str | None:
            """A scan the first worker has started and not finished (its try is counted, no outcome yet)."""
            with sessions() as session:
                return session.scalar(select(ScanJob.public_id).where(
                    ScanJob.status == "running", ScanJob.worker.endswith(f":{victim}")).limit(1))

        caught = None
        while caught is None and time.monotonic() < deadline:
            if finished() < SCANS // 4:
                time.sleep(0.02)
                continue
            # Freeze the worker, then look: a scan it has started now cannot finish before the kill.
            workers[0].send_signal(signal.SIGSTOP)
            time.sleep(0.05)  # a commit already on the wire lands before we look
            caught = in_flight_on_victim()
            if caught is None:
                workers[0].send_signal(signal.SIGCONT)
                time.sleep(0.01)
        killed_at = finished()
        assert caught is not None and killed_at < SCANS, "no scan in flight on the first worker to kill"
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        def unnotified() -> int:
            with sessions() as session:
                return int(session.scalar(select(func.count()).select_from(ScanJob)
                                          .where(ScanJob.webhook_status != "sent")) or 0)

        # Bounds for a hung run only (a loaded 2-core machine needs about a minute), never a speed claim.
        while (finished() < SCANS or unnotified() or len(receiver.keys) < SCANS) and time.monotonic() < began + 240:
            time.sleep(0.2)
        print(f"\n{SCANS} scans, worker killed after {killed_at} finished; all done and notified "
              f"{time.monotonic() - began:.1f} s after the workers started")

        with sessions() as session:
            jobs = session.execute(select(ScanJob.public_id, ScanJob.status, ScanJob.scan_id, ScanJob.attempts,
                                          ScanJob.webhook_status)).all()
            scans = session.execute(select(Scan.id, Scan.content_id)).all()
        assert Counter(j.status for j in jobs) == {"done": SCANS}
        assert len(scans) == SCANS and len({s.content_id for s in scans}) == SCANS  # each upload recorded once
        assert {j.scan_id for j in jobs} == {s.id for s in scans}
        interrupted = next(j for j in jobs if j.public_id == caught)
        assert interrupted.attempts >= 2  # its first try died with the worker; another worker finished it
        # every result reached the platform, signed; a delivery interrupted by the kill may repeat, under the same key
        assert receiver.bad == 0
        assert set(receiver.keys) == {f"scan-{j.public_id}" for j in jobs}
        assert sum(receiver.keys.values()) - SCANS <= 4  # at most the killed worker's in-flight deliveries
        assert all(b["scan"]["status"] == "done" for b in receiver.bodies.values())
        assert {j.webhook_status for j in jobs} == {"sent"}
        assert workers[1].poll() is None  # the survivor kept working
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
        engine.dispose()
