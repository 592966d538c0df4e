"""The chunk tasks `rescan.chunk` and `import.chunk`, on a worker's `rescan`/`import` queue or in-process.

Each runs its chunk in one transaction under the chunk's row lock: the chunk's effect (new
matches, imported rows), its `done` mark and the job's progress commit together or not at all.
A crash mid-chunk leaves the chunk pending and nothing of it applied; a redelivered or resent
message for a done chunk does nothing. So a chunk is applied exactly once, and a job resumes
from its checkpoint.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bastion import audit
from bastion.banks.models import Bank
from bastion.banks.transfer import ImportReport, Row, write_rows
from bastion.clock import Clock
from bastion.executor import TaskContext, registry
from bastion.jobs.models import FanoutJob, JobChunk
from bastion.jobs.service import IMPORT_TASK, RESCAN_TASK
from bastion.scanning.service import Scanner

log = logging.getLogger(__name__)

#: `TaskContext.services` keys: the scanner, and the tries before a chunk is dead-lettered (the same keys the
#: batch scans use).
SCANNER = "scanning.scanner"
MAX_TRIES = "broker.max_tries"
ACTOR = "system:jobs"


def _take(session: Session, chunk_id: int) -> tuple[JobChunk, FanoutJob] | None:
    """The chunk, locked (a no-op write first, as in `batchscan.tasks._lock`), and its job; None if nothing to do."""
    session.execute(update(JobChunk).where(JobChunk.id == chunk_id).values(runs=JobChunk.runs)
                    .execution_options(synchronize_session=False))
    chunk = session.get(JobChunk, chunk_id, populate_existing=True)
    if chunk is None or chunk.state != "pending":
        return None
    job = session.get(FanoutJob, chunk.job_id, populate_existing=True)
    if job is None or job.cancelled or job.state not in ("queued", "running"):
        return None
    return chunk, job


def _finish(session: Session, chunk: JobChunk, result: dict[str, int], now: datetime) -> None:
    """Mark the chunk done and move the job's figures and checkpoint, in the chunk's transaction.

    The job's row is locked before the open chunks are counted, so two chunks finishing at
    once are counted one after the other and the last one always sees the job complete.
    """
    chunk.state, chunk.runs, chunk.finished_at = "done", chunk.runs + 1, now
    chunk.result_json, chunk.data = json.dumps(result, sort_keys=True), ""
    session.flush()
    session.execute(update(FanoutJob).where(FanoutJob.id == chunk.job_id).values(done=FanoutJob.done + chunk.items,
                                                                                 chunks_done=FanoutJob.chunks_done + 1)
                    .execution_options(synchronize_session=False))
    job = session.get_one(FanoutJob, chunk.job_id, populate_existing=True)
    first_open = session.scalar(select(func.min(JobChunk.seq)).where(JobChunk.job_id == chunk.job_id,
                                                                     JobChunk.state == "pending"))
    job.checkpoint = (job.chunks_total - 1) if first_open is None else first_open - 1
    job.started_at = job.started_at or now
    if not job.cancelled:
        job.state = "done" if first_open is None else "running"
        if first_open is None:
            job.finished_at = now


def _bury(session: Session, chunk: JobChunk, job: FanoutJob, error: str, clock: Clock) -> None:
    """Dead-letter the chunk and fail its job (audited): the job stops, and `resume` can take it up again."""
    chunk.state, chunk.last_error = "dead", error[:2000]
    job.state, job.finished_at = "failed", clock.now()
    audit.record(session, actor=ACTOR, action="job.failed", subject=f"job:{job.id}", clock=clock,
                 details={"job": job.id, "chunk": chunk.seq, "tries": chunk.tries, "error": error[:500]})
    log.error("job chunk dead-lettered; job failed", extra={"job": job.id, "chunk": chunk.seq, "tries": chunk.tries})


def _count_try(ctx: TaskContext, chunk_id: int, max_tries: int) -> bool:
    """Count this try before any work, in its own commit; False when there is nothing to do (or now dead)."""
    with ctx.sessions() as session, session.begin():
        taken = _take(session, chunk_id)
        if taken is None:
            return False
        chunk, job = taken
        chunk.tries += 1
        if chunk.tries > max_tries:
            _bury(session, chunk, job, f"{max_tries} tries never recorded an outcome (each worker died or failed); "
                                       f"{chunk.last_error}", ctx.clock)
            return False
        return True


def _failed(ctx: TaskContext, chunk_id: int, exc: Exception, max_tries: int) -> bool:
    """Record a failed try; True when it was the last one (the chunk is dead and its job failed)."""
    error = f"{type(exc).__name__}: {exc}"
    with ctx.sessions() as session, session.begin():
        taken = _take(session, chunk_id)
        if taken is None:
            return True  # finished, cancelled or failed meanwhile: nothing is left to retry
        chunk, job = taken
        chunk.last_error = error[:2000]
        if chunk.tries < max_tries:
            return False
        _bury(session, chunk, job, f"gave up after {chunk.tries} tries; last error: {error}", ctx.clock)
        return True


def _run_chunk(ctx: TaskContext, payload: dict[str, Any],
               apply: Callable[[Session, JobChunk, FanoutJob], dict[str, int]]) -> None:
    """Apply one chunk exactly once: a failed try is raised (the broker or executor retries it) until its
    tries run out (`broker.max_tries`), then the chunk is dead-lettered and its job marked failed."""
    chunk_id, max_tries = int(payload["chunk_id"]), int(ctx.services.get(MAX_TRIES, 5))
    if not _count_try(ctx, chunk_id, max_tries):
        return
    try:
        with ctx.sessions() as session, session.begin():
            taken = _take(session, chunk_id)
            if taken is None:
                return
            chunk, job = taken
            _finish(session, chunk, apply(session, chunk, job), ctx.clock.now())
    except Exception as exc:
        if _failed(ctx, chunk_id, exc, max_tries):
            return
        raise


@registry.task(RESCAN_TASK)
def rescan_chunk(ctx: TaskContext, payload: dict[str, Any]) -> None:
    scanner: Scanner = ctx.services[SCANNER]

    def apply(session: Session, chunk: JobChunk, job: FanoutJob) -> dict[str, int]:
        since = datetime.fromisoformat(json.loads(job.params_json)["since"])
        report = scanner.rescan_range(session, since, chunk.lo_id, chunk.hi_id)
        return {"scanned": report.scanned, "new_matches": report.new_matches,
                "scans_with_new_matches": report.scans_with_new_matches}

    _run_chunk(ctx, payload, apply)


@registry.task(IMPORT_TASK)
def import_chunk(ctx: TaskContext, payload: dict[str, Any]) -> None:
    def apply(session: Session, chunk: JobChunk, job: FanoutJob) -> dict[str, int]:
        bank = session.get(Bank, int(json.loads(job.params_json)["bank_id"]))
        if bank is None:
            raise LookupError(f"job {job.id}: its bank is gone")
        report = ImportReport()
        write_rows(session, bank, [Row(*values) for values in json.loads(chunk.data or "[]")], report,
                   job.created_by, ctx.clock)
        return {"imported": report.imported, "duplicates": report.duplicates}

    _run_chunk(ctx, payload, apply)
