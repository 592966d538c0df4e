"""Done-when for matcher replicas: two `bastion serve` processes share PostgreSQL and an S3-compatible store.

Each server has its own data directory (its own machine, as far as Bastion can tell). A bulk
import publishes the index snapshot to the store; both servers start from it (downloaded into
their own cache, then memory-mapped); a hash added through one server is matched by the other
through the change log in PostgreSQL. Deadlines only bound a hung run; nothing here measures speed.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from bastion.clock import ManualClock
from bastion.config import Settings
from bastion.db import make_engine, make_sessionmaker
from bastion.web.app import create_app
from tests.conftest import SECRET, _truncate, api_key
from tests.livehttp import free_port
from tests.scaleout.s3server import S3

ROOT = Path(__file__).resolve().parents[2]
IMPORTED = 40


def _pdq(i: int) -> str:
    return hashlib.sha256(f"replica-{i}".encode()).hexdigest()


def _env(postgres: str, s3: S3, data_dir: Path) -> dict[str, str]:
    return {**os.environ, **s3.env(), "PYTHONPATH": str(ROOT / "src"), "BASTION_DATABASE_URL": postgres,
            "BASTION_SECRET_KEY": SECRET, "BASTION_DATA_DIR": str(data_dir), "BASTION_MEDIA_DECODE_WORKERS": "0",
            "BASTION_INDEX_REFRESH_SECONDS": "0.2", "BASTION_SNAPSHOT_CHECK_SECONDS": "1",
            "BASTION_LOG_LEVEL": "WARNING"}


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "bastion.cli.main", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _until(what: Callable[[], Any], deadline: float, why: str) -> Any:
    """Poll `what` until it returns something truthy; the deadline only bounds a hung run."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            value = what()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {why}")


def test_a_hash_added_through_one_server_is_matched_by_the_other(postgres_database: str, s3: S3,
                                                                 tmp_path: Path) -> None:
    _truncate(postgres_database)
    machine_a, machine_b = tmp_path / "a", tmp_path / "b"
    env_a, env_b = _env(postgres_database, s3, machine_a), _env(postgres_database, s3, machine_b)

    # A bulk import on machine A publishes the snapshot every replica starts from.
    hashes = tmp_path / "list.te"
    hashes.write_text("".join(f"pdq {_pdq(i)}\n" for i in range(IMPORTED)))
    _cli(env_a, "banks", "create", "SHARED")
    out = _cli(env_a, "banks", "import", "SHARED", str(hashes))
    assert f"snapshot written to {s3.url()}" in out
    assert f"pdq/pdq-{IMPORTED:020d}.snapshot" in s3.keys()

    engine = make_engine(postgres_database)
    sessions = make_sessionmaker(engine)
    settings = Settings(data_dir=tmp_path / "api", database_url=postgres_database, secret_key=SECRET)
    clock = ManualClock(datetime.now(timezone.utc))
    with TestClient(create_app(settings, clock=clock, engine=engine)) as client:
        headers = api_key(client, sessions, clock)

    ports = [free_port(), free_port()]
    servers = [subprocess.Popen([sys.executable, "-m", "bastion.cli.main", "serve", "--host", "127.0.0.1",
                                 "--port", str(port)], env=env, cwd=ROOT, stdout=(tmp_path / f"serve-{port}.log").open("wb"),
                                stderr=subprocess.STDOUT)
               for port, env in zip(ports, (env_a, env_b))]
    try:
        a, b = (httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) for port in ports)
        for server in (a, b):
            _until(lambda server=server: server.get("/healthz").status_code == 200, 120, "the servers to start")

        # Both started from the published snapshot: B downloaded it into its own cache and mapped it.
        for server in (a, b):
            status = _until(lambda server=server: server.get("/api/v1/index/status").json()["pdq"], 60, "status")
            assert status["snapshot_generation"] == IMPORTED and status["size"] == IMPORTED
        assert (machine_b / "index" / "cache" / f"pdq-{IMPORTED:020d}.snapshot").exists()

        def raw(server: httpx.Client, value: str) -> list[int]:
            response = server.get("/m/raw_lookup", params={"signal": value, "signal_type": "pdq"})
            assert response.status_code == 200, response.text
            return response.json()["matches"]

        assert raw(b, _pdq(7)) and not raw(b, _pdq(1000))

        # A hash added through A ...
        added = a.post("/api/v1/banks/SHARED/entries", json={"signals": {"pdq": _pdq(1000)}})
        assert added.status_code == 200, added.text
        entry_id = added.json()["entry"]["id"]
        # ... is matched by B, through the change log in PostgreSQL.
        assert _until(lambda: raw(b, _pdq(1000)), 60, "B to match the hash added through A") == [entry_id]

        # And the other way round: removed through B, gone from A.
        assert b.delete(f"/api/v1/banks/SHARED/entries/{entry_id}").status_code == 200
        _until(lambda: raw(a, _pdq(1000)) == [], 60, "A to forget the hash removed through B")
        assert raw(a, _pdq(7))
    finally:
        for server in servers:
            server.send_signal(signal.SIGTERM)
        for server in servers:
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        engine.dispose()

