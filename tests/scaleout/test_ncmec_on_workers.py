"""CyberTipline filing as `ncmec.run` tasks on real workers (PostgreSQL, RabbitMQ and Redis).

A report is drafted and approved through the API of an in-process app (the scan, case and
review of `tests/ncmec/reports`), then filed by `bastion worker --queues ncmec --tick`
subprocesses against the CyberTipline stand-in over HTTP: the worker's ticker fires the
report's timer, which publishes `ncmec.run` through the task outbox and the broker.

The kill variant lets NCMEC finish the report and then holds its reply until the worker that
asked has been SIGKILLed: NCMEC has filed, Bastion has not recorded it (a pending `finish`
intent). How the product keeps that to one report at NCMEC (`bastion.ncmec.lifecycle`):
the submit that opened the report was recorded with its NCMEC id before any later call, so
the next worker never submits again; a pending `finish` is the one call that is simply
repeated, and NCMEC's 5102 ("already finished") to the repeat confirms the first. The workers
run with a 3 s report lease (`BASTION_NCMEC_LEASE_SECONDS`) so the dead worker's report comes
back through its sweeper timer within seconds instead of the default 30 minutes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth.roles import Role
from bastion.broker import BrokerConfig
from bastion.broker.celery_app import make_celery
from bastion.broker.models import TaskMessage
from bastion.clock import ManualClock
from bastion.config import Settings
from bastion.db import make_engine, make_sessionmaker
from bastion.dev.ncmec import API_PREFIX, ReportState, create_standin_app
from bastion.dev.platform import create_demo_platform_app
from bastion.dev.serving import BackgroundServer
from bastion.ncmec.tables import FINISHED, NcmecApiCall, NcmecReport
from bastion.platform import HttpPlatformConnector
from tests.conftest import SECRET, _truncate, api_login, make_user
from tests.ncmec.reports.conftest import NCMEC_PASSWORD, NCMEC_USER, PLATFORM_SECRET, Reviewer, confirmed_case, \
    set_organisation

ROOT = Path(__file__).resolve().parents[2]


class Standin:
    """The CyberTipline stand-in, recording what reached it; optionally holds one reply.

    With `hold` set to an operation ("finish"), NCMEC acts on the first such request and the reply
    waits until `release` is set: the effect exists at NCMEC, the worker has not heard of it.
    """

    def __init__(self, hold: str | None = None) -> None:
        self.app = create_standin_app(NCMEC_USER, NCMEC_PASSWORD)
        self.hold, self.acted, self.release = hold, threading.Event(), threading.Event()
        self.answered: list[tuple[str, int]] = []  # (operation, HTTP status), in order
        self.app.middleware("http")(self._record)

    async def _record(self, request: Any, call_next: Any) -> Any:
        response = await call_next(request)
        operation = request.url.path.rsplit("/", 1)[-1]
        self.answered.append((operation, response.status_code))
        if operation == self.hold and not self.acted.is_set():
            self.acted.set()
            await asyncio.to_thread(self.release.wait, 120)
        return response

    def count(self, operation: str, status: int | None = None) -> int:
        return sum(1 for op, code in self.answered if op == operation and status in (None, code))

    @property
    def state(self) -> Any:
        return self.app.state.standin


@dataclass
class Site:
    """Everything one filing needs: the database, the platform, the stand-in, the workers' environment."""

    sessions: sessionmaker[Session]
    standin: Standin
    env: dict[str, str]
    tmp: Path
    workers: list[subprocess.Popen[bytes]]

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"worker-{name}.log").open("wb")
        worker = subprocess.Popen([sys.executable, "-m", "bastion.cli.main", "worker", "--queues", "ncmec",
                                   "--concurrency", "1", "--tick"], env=self.env, stdout=log,
                                  stderr=subprocess.STDOUT, cwd=ROOT)
        self.workers.append(worker)
        return worker

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.tmp.glob("worker-*.log")))

    def report(self, report_id: int) -> NcmecReport:
        with self.sessions() as session:
            report = session.get_one(NcmecReport, report_id)
            session.expunge(report)
            return report

    def wait_finished(self, report_id: int) -> NcmecReport:
        deadline = time.monotonic() + 90  # a bound for a hung run only, never a speed claim
        report = self.report(report_id)
        while time.monotonic() < deadline and not (report.state == FINISHED and report.recorded_at):
            time.sleep(0.2)
            report = self.report(report_id)
        assert report.state == FINISHED and report.recorded_at, (report.state, report.error_step, report.attention, self.logs())
        return report

    def calls(self, report_id: int) -> list[tuple[str, str, int | None]]:
        with self.sessions() as session:
            return [(c.operation, c.outcome, c.response_code) for c in session.scalars(
                select(NcmecApiCall).where(NcmecApiCall.report_id == report_id).order_by(NcmecApiCall.id))]


@pytest.fixture
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reviewers log in through argon2; full cost is the login tests' business."""
    from argon2 import PasswordHasher

    from bastion.auth import passwords

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@contextmanager
def site(postgres_database: str, platform_template: Path, tmp_path: Path, broker_url: str,
         hold: str | None = None, lease_seconds: int = 1800) -> Iterator[Site]:
    _truncate(postgres_database)
    make_celery(BrokerConfig(url=broker_url)).control.purge()
    shutil.copyfile(platform_template, tmp_path / "platform.sqlite3")
    engine = make_engine(postgres_database)
    standin = Standin(hold)
    with BackgroundServer(create_demo_platform_app(tmp_path / "platform.sqlite3", PLATFORM_SECRET)) as platform, \
            BackgroundServer(standin.app) as ncmec:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "BASTION_DATABASE_URL": postgres_database,
               "BASTION_SECRET_KEY": SECRET, "BASTION_DATA_DIR": str(tmp_path / "var"),
               "BASTION_BROKER_URL": broker_url, "BASTION_PLATFORM_URL": platform.base_url,
               "BASTION_PLATFORM_SECRET": PLATFORM_SECRET, "BASTION_NCMEC_USERNAME": NCMEC_USER,
               "BASTION_NCMEC_PASSWORD": NCMEC_PASSWORD, "BASTION_NCMEC_BASE_URL": ncmec.origin + API_PREFIX,
               "BASTION_TICKER_INTERVAL_SECONDS": "0.5", "BASTION_MEDIA_DECODE_WORKERS": "0",
               "BASTION_LOG_LEVEL": "WARNING", "BASTION_PDQ_INDEX": "brute",
               "BASTION_NCMEC_LEASE_SECONDS": str(lease_seconds)}
        here = Site(make_sessionmaker(engine), standin, env, tmp_path, [])
        try:
            yield here
        finally:
            standin.release.set()
            for worker in here.workers:
                if worker.poll() is None:
                    worker.send_signal(signal.SIGTERM)
                    try:
                        worker.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        worker.kill()
            engine.dispose()


def approve_report(here: Site, postgres_database: str, tmp_path: Path) -> int:
    """Scan, confirm, draft (one reviewer) and approve (another) through the app's API; no filing in-process.

    The app's clock starts in the past, so the timer the approval sets is already due for the workers.
    """
    clock = ManualClock(datetime.now(UTC) - timedelta(minutes=15))
    settings = Settings(data_dir=tmp_path / "var", database_url=postgres_database, secret_key=SECRET,
                        index_refresh_seconds=0, platform_url=here.env["BASTION_PLATFORM_URL"],
                        platform_secret=SecretStr(PLATFORM_SECRET))
    from bastion.web.app import create_app

    set_organisation(here.sessions, clock)
    app = create_app(settings, clock=clock)  # background=False: no executor or ticker in this process
    platform = HttpPlatformConnector(settings.platform_url, PLATFORM_SECRET)
    with TestClient(app) as client:
        reviewers = []
        for _ in range(2):
            user = make_user(here.sessions, clock, Role.REVIEWER)
            http = TestClient(app)
            reviewers.append(Reviewer(user, http, {"X-CSRF-Token": api_login(http, user, clock)}, clock))
        author, approver = reviewers
        case_id = confirmed_case(client, here.sessions, clock, platform, author)
        drafted = author.post("/api/v1/reports", json={"case_id": case_id})
        assert drafted.status_code == 201, drafted.text
        approved = approver.post(f"/api/v1/reports/{drafted.json()['id']}/approve")
        assert approved.status_code == 200 and approved.json()["state"] == "approved", approved.text
    platform.close()
    return int(drafted.json()["id"])


def ran_on_the_ncmec_queue(here: Site, report_id: int) -> bool:
    with here.sessions() as session:
        runs = session.execute(select(TaskMessage.queue, TaskMessage.payload)
                               .where(TaskMessage.task == "ncmec.run")).all()
    return bool(runs) and {q for q, _ in runs} == {"ncmec"} and all(f'"report_id": {report_id}' in p for _, p in runs)


def test_a_worker_files_an_approved_report_once(postgres_database: str, platform_template: Path, tmp_path: Path,
                                                broker_url: str, cheap_password_hashing: None) -> None:
    with site(postgres_database, platform_template, tmp_path, broker_url) as here:
        here.start_worker("a")
        report_id = approve_report(here, postgres_database, tmp_path)
        report = here.wait_finished(report_id)
        assert here.standin.state.report_state(report.ncmec_report_id) is ReportState.FINISHED
        assert here.standin.count("submit") == 1 and here.standin.count("finish") == 1
        assert here.standin.count("upload", 200) == 2 and here.standin.count("fileinfo", 200) == 2
        assert [(op, outcome) for op, outcome, _ in here.calls(report_id)] == [
            ("submit", "ok"), ("upload", "ok"), ("upload", "ok"), ("fileinfo", "ok"), ("fileinfo", "ok"),
            ("finish", "ok")]
        assert ran_on_the_ncmec_queue(here, report_id), here.logs()
        assert all(w.poll() is None for w in here.workers)


def test_a_worker_killed_mid_finish_leaves_one_report_at_ncmec(postgres_database: str, platform_template: Path,
                                                               tmp_path: Path, broker_url: str,
                                                               cheap_password_hashing: None) -> None:
    with site(postgres_database, platform_template, tmp_path, broker_url, hold="finish", lease_seconds=3) as here:
        first = here.start_worker("a")
        report_id = approve_report(here, postgres_database, tmp_path)
        assert here.standin.acted.wait(90), here.logs()
        ncmec_id = here.report(report_id).ncmec_report_id
        assert here.standin.state.report_state(ncmec_id) is ReportState.FINISHED  # NCMEC has filed ...
        assert here.calls(report_id)[-1][:2] == ("finish", "pending")  # ... Bastion has not heard of it
        first.send_signal(signal.SIGKILL)
        first.wait()
        here.standin.release.set()
        # The dead worker's report lease (3 s here) runs out, the report's sweeper timer fires on the
        # second worker's ticker and publishes another `ncmec.run`, which reconciles the pending finish.
        here.start_worker("b")
        report = here.wait_finished(report_id)
        assert report.ncmec_report_id == ncmec_id  # the same report, not a new one
        assert here.standin.count("submit") == 1  # NCMEC opened exactly one report ...
        assert here.standin.state.report_state(ncmec_id) is ReportState.FINISHED  # ... and it is filed
        assert here.standin.count("finish") == 2 and here.standin.count("upload") == 2
        calls = here.calls(report_id)
        assert [c[0] for c in calls].count("submit") == 1
        finishes = [c for c in calls if c[0] == "finish"]
        # the dead worker's intent was reconciled, and NCMEC's 5102 to the repeat confirmed the first finish
        assert len(finishes) == 2 and finishes[0][1] != "pending" and finishes[1][2] == 5102, calls
        assert not report.attention and not report.error_step
        assert here.workers[1].poll() is None


def test_a_worker_killed_mid_submit_never_opens_a_second_report(postgres_database: str, platform_template: Path,
                                                                tmp_path: Path, broker_url: str,
                                                                cheap_password_hashing: None) -> None:
    """NCMEC has no lookup and no idempotency key for submit: after a worker died inside one, nobody can know
    whether a report was opened, so the next worker must not submit again at once (it parks the report until
    NCMEC has certainly deleted any unfinished orphan, or a reviewer confirms resubmitting)."""
    with site(postgres_database, platform_template, tmp_path, broker_url, hold="submit", lease_seconds=3) as here:
        first = here.start_worker("a")
        report_id = approve_report(here, postgres_database, tmp_path)
        assert here.standin.acted.wait(90), here.logs()
        first.send_signal(signal.SIGKILL)
        first.wait()
        here.standin.release.set()
        here.start_worker("b")
        deadline = time.monotonic() + 90  # a bound for a hung run only, never a speed claim
        report = here.report(report_id)
        while time.monotonic() < deadline and not (report.resubmit_after and not report.lease_owner):
            time.sleep(0.2)
            report = here.report(report_id)
        assert report.resubmit_after and not report.lease_owner, here.logs()  # reconciled, and the run is over
        assert here.calls(report_id) == [("submit", "interrupted", None)]
        assert here.standin.count("submit") == 1  # the one NCMEC may hold; Bastion opened no second
        assert report.state == "approved" and report.ncmec_report_id is None and "unknown" in report.attention
        assert report.resubmit_after - datetime.now(UTC) > timedelta(hours=24)
        assert here.workers[1].poll() is None
