"""Platform actions as `deliver`-queue tasks on a real RabbitMQ and Redis: a worker SIGKILLed mid-delivery, one effect.

The platform stand-in (the demo platform, over HTTP) acts on the first request and then holds
its reply until the test has killed the worker that sent it: the platform has acted, Bastion has
not recorded it. A second worker, with its ticker on, finds the row whose lease ran out (the
outbox sweeper), delivers it again under the same idempotency key, and the platform replays its
receipt. The action exists once at the platform and is recorded once in Bastion.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bastion.actions import enqueue
from bastion.actions.models import OutboxAction
from bastion.audit.models import AuditRecord
from bastion.broker import BrokerConfig
from bastion.broker.celery_app import make_celery
from bastion.broker.models import TaskMessage
from bastion.clock import SystemClock
from bastion.db import make_engine, make_sessionmaker
from bastion.dev.platform import create_demo_platform_app, demo_controls
from bastion.dev.serving import BackgroundServer
from tests.conftest import SECRET, _truncate

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_SECRET = "deliver-test-platform-secret-0123456789"


class Gate:
    """Lets the platform act on the first action request, then holds the reply until released."""

    def __init__(self) -> None:
        self.acted, self.release = threading.Event(), threading.Event()
        self._first = True

    def install(self, app: Any) -> None:
        gate = self

        @app.middleware("http")
        async def hold(request: Any, call_next: Any) -> Any:
            response = await call_next(request)
            if request.method == "POST" and request.headers.get("Idempotency-Key") and gate._first:
                gate._first = False
                gate.acted.set()
                await asyncio.to_thread(gate.release.wait, 120)
            return response


def start_worker(env: dict[str, str], log: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bastion.cli.main", "worker", "--queues", "deliver",
                             "--concurrency", "1", *extra], env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, cwd=ROOT)


def test_a_worker_killed_mid_delivery_leaves_one_effect_at_the_platform(
        postgres_database: str, platform_template: Path, tmp_path: Path, broker_url: str) -> None:
    url = broker_url
    _truncate(postgres_database)
    make_celery(BrokerConfig(url=url)).control.purge()
    shutil.copyfile(platform_template, tmp_path / "platform.sqlite3")
    platform = create_demo_platform_app(tmp_path / "platform.sqlite3", PLATFORM_SECRET)
    gate = Gate()
    gate.install(platform)
    engine = make_engine(postgres_database)
    sessions = make_sessionmaker(engine)
    workers: list[subprocess.Popen[bytes]] = []
    with BackgroundServer(platform) as server:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "BASTION_DATABASE_URL": postgres_database,
               "BASTION_SECRET_KEY": SECRET, "BASTION_DATA_DIR": str(tmp_path / "var"), "BASTION_BROKER_URL": url,
               "BASTION_PLATFORM_URL": server.base_url, "BASTION_PLATFORM_SECRET": PLATFORM_SECRET,
               "BASTION_DELIVERY_LEASE_SECONDS": "3", "BASTION_OUTBOX_SWEEP_GRACE_SECONDS": "2",
               "BASTION_TICKER_INTERVAL_SECONDS": "0.5", "BASTION_MEDIA_DECODE_WORKERS": "0",
               "BASTION_LOG_LEVEL": "WARNING", "BASTION_PDQ_INDEX": "brute"}
        try:
            workers.append(start_worker(env, tmp_path / "worker-a.log"))  # no ticker: only the row's own message
            with sessions() as session:
                action = enqueue(session, kind="remove_content", target="post-2001", payload={"reason": "hash_match"},
                                 subject="case:1", actor="user:reviewer", clock=SystemClock())
                session.commit()
                action_id, key = action.id, action.idempotency_key
            assert gate.acted.wait(90), (tmp_path / "worker-a.log").read_text()
            with sessions() as session:
                row = session.get_one(OutboxAction, action_id)
                assert (row.status, row.attempts) == ("in_flight", 1)  # claimed, acted on, not recorded
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait()
            gate.release.set()
            workers.append(start_worker(env, tmp_path / "worker-b.log", "--tick"))
            deadline = time.monotonic() + 120  # a bound for a hung run only, never a speed claim
            status = ""
            while time.monotonic() < deadline:
                with sessions() as session:
                    status = session.get_one(OutboxAction, action_id).status
                if status == "delivered":
                    break
                time.sleep(0.2)
            assert status == "delivered", (tmp_path / "worker-b.log").read_text()
            assert workers[1].poll() is None
        finally:
            gate.release.set()
            for worker in workers:
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
                    try:
                        worker.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        worker.kill()
        received = [a for a in demo_controls(platform).received_actions() if a.idempotency_key == key]
    assert len(received) == 1 and received[0].replay_count >= 1  # acted once; the second request got the receipt
    with sessions() as session:
        row = session.get_one(OutboxAction, action_id)
        assert row.attempts == 2 and row.result
        delivered = session.scalars(select(AuditRecord).where(AuditRecord.action == "action.deliver")).all()
        assert [json.loads(r.details)["action_id"] for r in delivered] == [action_id]
        messages = session.execute(select(TaskMessage.queue, TaskMessage.payload)
                                   .where(TaskMessage.task == "actions.deliver_row")).all()
        assert {m.queue for m in messages} == {"deliver"}
        assert {json.loads(m.payload)["outbox_id"] for m in messages} == {action_id}
        assert len(messages) >= 2  # the row's own message, and the sweeper's after the lease ran out
    engine.dispose()
