"""In a real browser: an admin finds a dead-lettered scan on the Operations page by searching for it,
retries it, and the server's own executor runs it again; a fan-out job's progress shows and Cancel stops it."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select

from bastion.auth.roles import Role
from bastion.batchscan.models import ScanJob
from bastion.clock import SystemClock
from bastion.config import Settings
from bastion.db import make_engine, make_sessionmaker
from bastion.jobs.models import FanoutJob, JobChunk
from bastion.web.app import create_app
from tests.conftest import SECRET
from tests.detect.images import jpeg
from tests.browser.signin import sign_in, staff_with_totp
from tests.livehttp import serve

TOTP_SECRET = pyotp.random_base32()


@pytest.fixture
def world(tmp_path: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    clock = SystemClock()
    engine = make_engine(sqlite_url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        staff_with_totp(session, "olga", Role.ADMIN, TOTP_SECRET, clock, email="olga@example.org")
        for i in range(3):  # dead letters: tries ran out (here: written as the last try leaves them)
            session.add(ScanJob(public_id=str(uuid.uuid4()), idempotency_key=uuid.uuid4().hex, status="dead",
                                source="upload", url="", media=jpeg(40 + i), media_sha256="", content_id=f"post-{i}",
                                account_id="", client_ip="", metadata_json="{}", attempts=5, worker="host:9",
                                last_error="5 tries never recorded an outcome", webhook_status="", submitted_by="test",
                                created_at=clock.now(), finished_at=clock.now()))
        session.commit()
    settings = Settings(data_dir=tmp_path, database_url=sqlite_url, secret_key=SECRET, ticker_interval_seconds=0.2)
    with serve(create_app(settings, engine=engine, background=True)) as url:
        yield url, sessions
    engine.dispose()


def _stuck_job(sessions) -> int:  # type: ignore[no-untyped-def]
    """A running job whose remaining chunks were never sent (written after the server's start-up resume)."""
    clock = SystemClock()
    with sessions() as session:
        job = FanoutJob(kind="import", state="running", title="bank LIST from list.txt", total=30, done=10,
                        chunks_total=3, chunks_done=1, checkpoint=0, cancelled=False, params_json="{}",
                        created_by="cli:ops", created_at=clock.now(), started_at=clock.now())
        session.add(job)
        session.flush()
        for seq in range(3):  # the chunks never reach a worker here: the job stays where it is until cancelled
            session.add(JobChunk(job_id=job.id, seq=seq, state="done" if seq == 0 else "pending", items=10, data="",
                                 result_json="{}", runs=1 if seq == 0 else 0))
        session.commit()
        return job.id


def _login(page, url: str) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, url, "olga", TOTP_SECRET)


def test_an_admin_retries_a_dead_letter_and_cancels_a_job(page, world) -> None:  # type: ignore[no-untyped-def]
    url, sessions = world
    job_id = _stuck_job(sessions)
    _login(page, url)
    page.click("nav >> text=Operations")
    page.wait_for_url(re.compile(r"/operations$"))
    assert page.locator("tr.dead-row").count() == 3
    assert page.get_attribute("#broker", "data-state") == "none"

    page.fill('#dead-search input[name="q"]', "post-1")
    page.click("#dead-search button")
    page.wait_for_url(re.compile(r"q=post-1"))
    assert page.locator("tr.dead-row").count() == 1
    target = page.get_attribute("tr.dead-row", "data-id")
    page.click("tr.dead-row button.retry")
    page.wait_for_url(re.compile(r"/operations#dead-letters$"))
    assert page.locator(f'tr.dead-row[data-id="{target}"]').count() == 0
    assert page.locator("tr.dead-row").count() == 2

    deadline = time.monotonic() + 30
    while True:  # the server's executor scans it again (a synthetic image: it is recorded as done)
        with sessions() as session:
            job = session.scalars(select(ScanJob).where(ScanJob.public_id == target)).one()
            if job.status == "done" or time.monotonic() > deadline:
                break
        time.sleep(0.2)
    assert job.status == "done" and job.attempts == 1 and job.scan_id is not None

    row = page.locator(f'tr.job-row[data-id="{job_id}"]')
    assert row.get_attribute("data-state") == "running" and "10 of 30" in row.inner_text()
    assert row.locator("progress").get_attribute("value") == "10"
    row.locator("button.cancel").click()
    page.wait_for_url(re.compile(r"/operations/jobs$"))
    cancelled = page.locator(f'tr.job-row[data-id="{job_id}"]')
    assert cancelled.get_attribute("data-state") == "cancelled" and cancelled.locator("button.cancel").count() == 0
    with sessions() as session:
        assert session.get(FanoutJob, job_id).cancelled
