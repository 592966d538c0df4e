"""Fan-out jobs: chunks dispatched like every task, resumed after a crash with no chunk applied twice,
cancelled, with exact progress figures; on the operations page and in the CLI."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from bastion.auth.roles import Role
from bastion.banks import service as banks
from bastion.banks.models import BankEntry
from bastion.banks.transfer import Row
from bastion.broker import Relay
from bastion.broker.models import TaskMessage
from bastion.errors import Conflict
from bastion.executor import InlineExecutor, TaskContext
from bastion.jobs import service as jobs
from bastion.jobs.models import FanoutJob, JobChunk
from bastion.jobs.tasks import rescan_chunk
from bastion.scanning.models import Scan, ScanMatch
from tests.conftest import api_login, make_user

SCANS = 7
CHUNK = 2  # 4 chunks: 2, 2, 2, 1


def md5_of(i: int) -> str:
    return hashlib.md5(f"synthetic-{i}".encode()).hexdigest()


class Inline:
    """A dispatcher running each task here, as the in-process executor would, unless told to 'lose' it."""

    def __init__(self, ctx: TaskContext, run_first: int | None = None) -> None:
        self.executor, self.run_first, self.ran = InlineExecutor(ctx), run_first, 0

    def publish(self, task: str, queue: str, payload: dict[str, Any], message_id: int) -> None:
        if self.run_first is not None and self.ran >= self.run_first:
            return  # accepted, then the process died: the message is gone with its memory
        self.ran += 1
        self.executor.submit(task, payload)


@pytest.fixture
def world(app: Any, clock: Any) -> dict[str, Any]:
    """SCANS recorded scans that matched nothing, then a bank that holds every one's md5."""
    state = app.state.bastion
    with state.sessions() as session:
        for i in range(SCANS):
            session.add(Scan(created_at=clock.now(), source="upload", md5=md5_of(i), sha1="0" * 40, sha256=f"{i:064x}",
                             submitted_by="test"))
        bank = banks.create_bank(session, name="LATER", actor="test", clock=clock)
        for i in range(SCANS):
            banks.add_entry(session, bank, {"md5": md5_of(i)}, actor="test", clock=clock, audited=False)
        session.commit()
    ctx = TaskContext(sessions=state.sessions, clock=state.clock, services=state.services)
    return {"state": state, "ctx": ctx, "since": clock.now()}


def _start(world: dict[str, Any]) -> tuple[int, list[int]]:
    with world["state"].sessions() as session:
        job, messages = jobs.start_rescan(session, world["since"], chunk_size=CHUNK, actor="test", clock=world["state"].clock)
        session.commit()
        return job.id, messages


def _job(world: dict[str, Any], job_id: int) -> FanoutJob:
    with world["state"].sessions() as session:
        job = session.get_one(FanoutJob, job_id)
        session.expunge(job)
        return job


def _matches(world: dict[str, Any]) -> list[tuple[int, int]]:
    with world["state"].sessions() as session:
        return [tuple(r) for r in session.execute(select(ScanMatch.scan_id, ScanMatch.signal_id))]


def test_a_rescan_resumes_after_a_crash_and_applies_no_chunk_twice(world: dict[str, Any], monkeypatch) -> None:  # type: ignore[no-untyped-def]
    state, ctx = world["state"], world["ctx"]
    job_id, messages = _start(world)
    with state.sessions() as session:
        assert {m.queue for m in session.scalars(select(TaskMessage).where(TaskMessage.id.in_(messages)))} == {"rescan"}
    scanner = state.scanner
    real, calls = scanner.rescan_range, []

    def dies_on_the_third(*args: Any) -> Any:
        calls.append(args)
        report = real(*args)  # the matches are added in the chunk's transaction ...
        if len(calls) == 3:
            raise RuntimeError("killed mid-chunk")  # ... and the worker dies before it commits
        return report

    monkeypatch.setattr(scanner, "rescan_range", dies_on_the_third)
    Relay(state.sessions, Inline(ctx, run_first=3), state.clock).relay(ids=messages)
    crashed = _job(world, job_id)
    assert (crashed.state, crashed.done, crashed.total, crashed.chunks_done, crashed.chunks_total) == \
           ("running", 4, SCANS, 2, 4)
    assert crashed.checkpoint == 1 and len(_matches(world)) == 4  # the dying chunk left nothing behind

    monkeypatch.setattr(scanner, "rescan_range", real)
    with state.sessions() as session:
        _, again = jobs.resume(session, job_id, actor="test", clock=state.clock)
        session.commit()
    assert len(again) == 2  # only the chunks past the checkpoint
    Relay(state.sessions, Inline(ctx), state.clock).relay(ids=again)
    done = _job(world, job_id)
    assert (done.state, done.done, done.chunks_done, done.checkpoint) == ("done", SCANS, 4, 3)
    matches = _matches(world)
    assert len(matches) == SCANS == len(set(matches))  # every scan matched once, none twice
    with state.sessions() as session:
        assert [c.runs for c in session.scalars(select(JobChunk).where(JobChunk.job_id == job_id))] == [1, 1, 1, 1]
        assert session.scalar(select(func.sum(Scan.match_count))) == SCANS
        assert jobs.summary(session, session.get_one(FanoutJob, job_id))["new_matches"] == SCANS
        first = session.scalars(select(JobChunk).where(JobChunk.job_id == job_id, JobChunk.seq == 0)).one()
        with pytest.raises(Conflict):
            jobs.resume(session, job_id, actor="test", clock=state.clock)
    rescan_chunk(ctx, {"job_id": job_id, "chunk_id": first.id})  # a late redelivery of a finished chunk
    assert len(_matches(world)) == SCANS and _job(world, job_id).done == SCANS


def test_cancel_stops_a_job_and_progress_counts_only_finished_chunks(world: dict[str, Any]) -> None:
    state, ctx = world["state"], world["ctx"]
    job_id, messages = _start(world)
    queued = _job(world, job_id)
    assert (queued.state, queued.done, queued.total, queued.checkpoint) == ("queued", 0, SCANS, -1)
    Relay(state.sessions, Inline(ctx, run_first=1), state.clock).relay(ids=messages[:1])
    one = _job(world, job_id)
    assert (one.state, one.done, one.chunks_done) == ("running", CHUNK, 1)
    with state.sessions() as session:
        jobs.cancel(session, job_id, actor="test", clock=state.clock)
        session.commit()
        with pytest.raises(Conflict):
            jobs.cancel(session, job_id, actor="test", clock=state.clock)
        with pytest.raises(Conflict):
            jobs.resume(session, job_id, actor="test", clock=state.clock)
    Relay(state.sessions, Inline(ctx), state.clock).relay(ids=messages[1:])  # the rest arrive after the cancel
    cancelled = _job(world, job_id)
    assert (cancelled.state, cancelled.done, cancelled.chunks_done, cancelled.cancelled) == ("cancelled", CHUNK, 1, True)
    assert len(_matches(world)) == CHUNK


def test_an_import_job_writes_each_row_once_across_a_crash(app: Any, clock: Any) -> None:
    state = app.state.bastion
    ctx = TaskContext(sessions=state.sessions, clock=state.clock, services=state.services)
    values = [md5_of(100 + i) for i in range(9)]
    rows = [Row(i + 1, "md5", v) for i, v in enumerate(values)] + [Row(10, "md5", values[0])]  # one repeated
    with state.sessions() as session:
        bank = banks.create_bank(session, name="LIST", actor="test", clock=clock)
        banks.add_entry(session, bank, {"md5": values[4]}, actor="test", clock=clock, audited=False)  # one present
        job, messages = jobs.start_import(session, bank, iter(rows), source="list.txt", fmt="te", chunk_size=3,
                                          actor="test", clock=clock)
        session.commit()
        job_id, bank_id = job.id, bank.id
        assert {m.queue for m in session.scalars(select(TaskMessage).where(TaskMessage.id.in_(messages)))} == {"import"}
    Relay(state.sessions, Inline(ctx, run_first=2), state.clock).relay(ids=messages)
    with state.sessions() as session:
        job = session.get_one(FanoutJob, job_id)
        assert (job.state, job.done, job.total, job.chunks_done, job.chunks_total) == ("running", 6, 10, 2, 4)
        _, again = jobs.resume(session, job_id, actor="test", clock=clock)
        session.commit()
    Relay(state.sessions, Inline(ctx), state.clock).relay(ids=again + messages)  # and a stale duplicate of each
    with state.sessions() as session:
        job = session.get_one(FanoutJob, job_id)
        assert (job.state, job.done) == ("done", 10)
        assert jobs.summary(session, job) == {"imported": 8, "duplicates": 2}
        stored = session.scalars(select(BankEntry.id).where(BankEntry.bank_id == bank_id)).all()
        assert len(stored) == 9  # the one present before and the 8 new, each once
        assert all(c.data == "" for c in session.scalars(select(JobChunk).where(JobChunk.job_id == job_id)))


def test_the_page_shows_progress_and_cancels_a_job(world: dict[str, Any], client: TestClient, clock: Any) -> None:
    state, ctx = world["state"], world["ctx"]
    job_id, messages = _start(world)
    Relay(state.sessions, Inline(ctx, run_first=1), state.clock).relay(ids=messages[:1])
    admin = make_user(state.sessions, clock, Role.ADMIN)
    csrf = api_login(client, admin, clock)
    page = client.get("/operations/jobs")
    row = re.search(rf'<tr class="job-row" data-id="{job_id}"[^>]*>.*?</tr>', page.text, re.S)
    assert row, page.text
    assert 'data-state="running"' in row.group(0) and f"{CHUNK} of {SCANS}" in row.group(0)
    assert f'<progress value="{CHUNK}" max="{SCANS}"' in row.group(0)
    assert f'data-id="{job_id}"' in client.get("/operations").text  # the newest jobs on the main page too
    cancelled = client.post(f"/operations/jobs/{job_id}/cancel", data={"csrf_token": csrf}, follow_redirects=False)
    assert cancelled.status_code == 303 and "error" not in cancelled.headers["location"]
    assert _job(world, job_id).state == "cancelled"
    with state.sessions() as session:
        from bastion.audit.models import AuditRecord

        actions = session.scalars(select(AuditRecord.action).where(AuditRecord.subject == f"job:{job_id}")).all()
        assert "job.cancelled" in actions and "job.rescan_started" in actions
    metrics_text = client.get("/metrics").status_code  # an admin's session holds metrics.read too
    assert metrics_text == 200
    assert 'bastion_jobs{kind="rescan",state="cancelled"} 1.0' in client.get("/metrics").text


def test_the_cli_follows_cancels_and_lists_jobs(world: dict[str, Any], monkeypatch, settings) -> None:  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from bastion.cli.main import app as cli

    monkeypatch.setenv("BASTION_DATABASE_URL", str(settings.database_url))
    monkeypatch.setenv("BASTION_DATA_DIR", str(settings.data_dir))
    from bastion.config import get_settings

    get_settings.cache_clear()
    state, ctx = world["state"], world["ctx"]
    job_id, messages = _start(world)
    Relay(state.sessions, Inline(ctx, run_first=1), state.clock).relay(ids=messages[:1])
    runner = CliRunner()
    listed = runner.invoke(cli, ["jobs", "list"])
    assert listed.exit_code == 0 and re.search(rf"{job_id}\s.*rescan.*running.*{CHUNK}/{SCANS}", listed.output)
    cancelled = runner.invoke(cli, ["jobs", "cancel", str(job_id)])
    assert cancelled.exit_code == 0 and f"cancelled at {CHUNK} of {SCANS}" in cancelled.output
    followed = runner.invoke(cli, ["jobs", "follow", str(job_id)])
    assert followed.exit_code == 0 and f"is cancelled: {CHUNK} of {SCANS} done" in followed.output
    refused = runner.invoke(cli, ["jobs", "resume", str(job_id)])
    assert refused.exit_code != 0 and "only a queued, running or failed job" in refused.output
    resumed = _start(world)[0]
    ran = runner.invoke(cli, ["jobs", "resume", str(resumed)])  # no broker: the CLI runs the chunks itself
    assert ran.exit_code == 0 and f"is done: {SCANS} of {SCANS} done" in ran.output, ran.output
    assert f"{SCANS - CHUNK} new matches" in ran.output and _job(world, resumed).done == SCANS
    get_settings.cache_clear()


def test_a_server_without_a_broker_resumes_open_jobs_when_it_starts(world: dict[str, Any], settings, engine) -> None:  # type: ignore[no-untyped-def]
    import time

    from sqlalchemy import update

    from bastion.web.app import create_app
    from tests.livehttp import serve

    state = world["state"]
    job_id, messages = _start(world)
    with state.sessions() as session:  # handed to the last server's executor, which died with them
        session.execute(update(TaskMessage).where(TaskMessage.id.in_(messages)).values(status="published"))
        session.commit()
    with serve(create_app(settings, clock=state.clock, engine=engine, background=True)):
        deadline = time.monotonic() + 30
        while _job(world, job_id).state != "done" and time.monotonic() < deadline:
            time.sleep(0.1)
    resumed = _job(world, job_id)
    assert (resumed.state, resumed.done) == ("done", SCANS) and len(_matches(world)) == SCANS


def test_a_chunk_that_keeps_failing_is_dead_lettered_the_job_fails_and_resumes(world: dict[str, Any], client: TestClient,
                                                                              clock: Any, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from bastion.audit.models import AuditRecord
    from bastion.jobs.tasks import MAX_TRIES

    state, ctx = world["state"], world["ctx"]
    tries = int(state.services.get(MAX_TRIES, 5))
    job_id, messages = _start(world)
    with state.sessions() as session:
        first = session.scalars(select(JobChunk).where(JobChunk.job_id == job_id, JobChunk.seq == 0)).one()
        first_id = first.id
    scanner = state.scanner
    real = scanner.rescan_range

    def poison(*args: Any) -> Any:
        raise RuntimeError("this chunk breaks every worker")

    monkeypatch.setattr(scanner, "rescan_range", poison)
    for attempt in range(1, tries + 1):  # each delivery of its message, as the broker retries it
        if attempt < tries:
            with pytest.raises(RuntimeError):
                rescan_chunk(ctx, {"job_id": job_id, "chunk_id": first_id})
            assert _job(world, job_id).state == "queued"
        else:
            rescan_chunk(ctx, {"job_id": job_id, "chunk_id": first_id})  # the last try: dead-lettered, not raised
    failed = _job(world, job_id)
    assert failed.state == "failed" and failed.finished_at is not None and failed.chunks_done == 0
    with state.sessions() as session:
        chunk = session.get_one(JobChunk, first_id)
        assert (chunk.state, chunk.tries) == ("dead", tries) and "breaks every worker" in chunk.last_error
        [record] = session.scalars(select(AuditRecord).where(AuditRecord.action == "job.failed")).all()
        assert record.subject == f"job:{job_id}"
    rescan_chunk(ctx, {"job_id": job_id, "chunk_id": first_id})  # a late redelivery changes nothing
    assert _job(world, job_id).state == "failed"

    admin = make_user(state.sessions, clock, Role.ADMIN)
    csrf = api_login(client, admin, clock)
    row = re.search(rf'<tr class="job-row" data-id="{job_id}"[^>]*>.*?</tr>', client.get("/operations/jobs").text, re.S)
    assert row and 'data-state="failed"' in row.group(0) and f"/operations/jobs/{job_id}/resume" in row.group(0)
    monkeypatch.setattr(scanner, "rescan_range", real)
    resumed = client.post(f"/operations/jobs/{job_id}/resume", data={"csrf_token": csrf}, follow_redirects=False)
    assert resumed.status_code == 303 and "error" not in resumed.headers["location"]
    done = _job(world, job_id)  # every chunk went again (nothing had finished), the dead one with fresh tries
    assert (done.state, done.done, done.chunks_done) == ("done", SCANS, 4)
    assert len(_matches(world)) == SCANS == len(set(_matches(world)))
