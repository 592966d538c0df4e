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
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bastion.banks.models import Bank
from bastion.banks.transfer import ImportReport, Row, write_rows
from bastion.executor import TaskContext, registry
from bastion.jobs.models import FanoutJob, JobChunk
from bastion.jobs.service import IMPORT_TASK, RESCAN_TASK
from bastion.scanning.service import Scanner

log = logging.getLogger(__name__)

#: `TaskContext.services` key of the scanner (the same key the batch scans use).
SCANNER = "scanning.scanner"


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


@registry.task(RESCAN_TASK)
def rescan_chunk(ctx: TaskContext, payload: dict[str, Any]) -> None:
    scanner: Scanner = ctx.services[SCANNER]
    with ctx.sessions() as session, session.begin():
        taken = _take(session, int(payload["chunk_id"]))
        if taken is None:
            return
        chunk, job = taken
        since = datetime.fromisoformat(json.loads(job.params_json)["since"])
        report = scanner.rescan_range(session, since, chunk.lo_id, chunk.hi_id)
        _finish(session, chunk, {"scanned": report.scanned, "new_matches": report.new_matches,
                                 "scans_with_new_matches": report.scans_with_new_matches}, ctx.clock.now())


@registry.task(IMPORT_TASK)
def import_chunk(ctx: TaskContext, payload: dict[str, Any]) -> None:
    with ctx.sessions() as session, session.begin():
        taken = _take(session, int(payload["chunk_id"]))
        if taken is None:
            return
        chunk, job = taken
        bank = session.get(Bank, int(json.loads(job.params_json)["bank_id"]))
        if bank is None:
            raise LookupError(f"job {job.id}: its bank is gone")
        report = ImportReport()
        write_rows(session, bank, [Row(*values) for values in json.loads(chunk.data or "[]")], report,
                   job.created_by, ctx.clock)
        _finish(session, chunk, {"imported": report.imported, "duplicates": report.duplicates}, ctx.clock.now())
