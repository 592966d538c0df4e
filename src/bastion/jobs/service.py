"""Starting, cancelling, resuming and reading fan-out jobs.

Starting a job writes its chunks and one task message per chunk in the caller's transaction;
the relay hands them to the in-process executor or the broker's `rescan`/`import` queue once
committed. Resuming re-sends the chunks past the checkpoint that are not done: a chunk's task
does nothing when its chunk is done already, so resuming twice, or a resume racing a
redelivery, never applies a chunk twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.banks.models import Bank
from bastion.banks.transfer import Row
from bastion.broker import enqueue
from bastion.clock import Clock
from bastion.db.keyset import Page, newest_first, page_size
from bastion.errors import Conflict, InvalidInput, NotFound
from bastion.jobs.models import KINDS, OPEN, STATES, FanoutJob, JobChunk
from bastion.scanning.models import Scan

RESCAN_TASK = "rescan.chunk"
IMPORT_TASK = "import.chunk"
TASK_OF = {"rescan": RESCAN_TASK, "import": IMPORT_TASK}


def _new_job(session: Session, kind: str, title: str, params: dict[str, Any], *, actor: str,
             clock: Clock) -> FanoutJob:
    job = FanoutJob(kind=kind, state="queued", title=title[:300], total=0, done=0, chunks_total=0, chunks_done=0,
                    checkpoint=-1, cancelled=False, params_json=json.dumps(params, sort_keys=True),
                    created_by=actor[:200], created_at=clock.now())
    session.add(job)
    session.flush()
    return job


def _add_chunk(session: Session, job: FanoutJob, *, items: int, lo_id: int = 0, hi_id: int = 0,
               data: str = "") -> None:
    session.add(JobChunk(job_id=job.id, seq=job.chunks_total, state="pending", items=items, lo_id=lo_id, hi_id=hi_id,
                         data=data, result_json="{}", runs=0))
    job.chunks_total += 1
    job.total += items


def _finish_start(session: Session, job: FanoutJob, *, actor: str, clock: Clock) -> list[int]:
    session.flush()
    if job.chunks_total == 0:  # nothing to do: done at once
        job.state, job.finished_at = "done", clock.now()
    audit.record(session, actor=actor, action=f"job.{job.kind}_started", subject=f"job:{job.id}", clock=clock,
                 details={"job": job.id, "title": job.title, "total": job.total, "chunks": job.chunks_total})
    return dispatch(session, job, clock=clock)


def start_rescan(session: Session, since: datetime, *, chunk_size: int, actor: str, clock: Clock
                 ) -> tuple[FanoutJob, list[int]]:
    """A rescan of the scans recorded since `since`, in chunks of `chunk_size` scans by id range."""
    if chunk_size < 1:
        raise InvalidInput("A chunk must hold at least one scan.")
    job = _new_job(session, "rescan", f"scans since {since:%Y-%m-%d %H:%M} UTC", {"since": since.isoformat()},
                   actor=actor, clock=clock)
    ids = session.scalars(select(Scan.id).where(Scan.created_at >= since).order_by(Scan.id)
                          .execution_options(yield_per=10_000))
    batch: list[int] = []
    for scan_id in ids:
        batch.append(scan_id)
        if len(batch) == chunk_size:
            _add_chunk(session, job, items=len(batch), lo_id=batch[0], hi_id=batch[-1])
            batch = []
    if batch:
        _add_chunk(session, job, items=len(batch), lo_id=batch[0], hi_id=batch[-1])
    return job, _finish_start(session, job, actor=actor, clock=clock)


def start_import(session: Session, bank: Bank, rows: Iterable[Row], *, source: str, fmt: str, chunk_size: int,
                 actor: str, clock: Clock) -> tuple[FanoutJob, list[int]]:
    """An import of parsed, good `rows` into `bank`, in chunks of `chunk_size` rows (hash values only)."""
    if chunk_size < 1:
        raise InvalidInput("A chunk must hold at least one row.")
    job = _new_job(session, "import", f"bank {bank.name} from {source}",
                   {"bank_id": bank.id, "format": fmt, "source": source[:200]}, actor=actor, clock=clock)
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) == chunk_size:
            _add_chunk(session, job, items=len(batch), data=json.dumps([list(r) for r in batch]))
            batch = []
    if batch:
        _add_chunk(session, job, items=len(batch), data=json.dumps([list(r) for r in batch]))
    return job, _finish_start(session, job, actor=actor, clock=clock)


def dispatch(session: Session, job: FanoutJob, *, clock: Clock) -> list[int]:
    """Task messages for the job's chunks past its checkpoint that are not done; the caller commits."""
    if job.state not in OPEN or job.cancelled:
        return []
    now = clock.now()
    chunks = session.scalars(select(JobChunk).where(JobChunk.job_id == job.id, JobChunk.state == "pending",
                                                    JobChunk.seq > job.checkpoint).order_by(JobChunk.seq))
    messages = []
    for chunk in chunks:
        chunk.dispatched_at = now
        messages.append(enqueue(session, TASK_OF[job.kind], {"job_id": job.id, "chunk_id": chunk.id}, clock=clock).id)
    return messages


def get(session: Session, job_id: int) -> FanoutJob:
    job = session.get(FanoutJob, job_id, populate_existing=True)
    if job is None:
        raise NotFound(f"There is no job {job_id}; `bastion jobs list` shows them.")
    return job


def resume(session: Session, job_id: int, *, actor: str, clock: Clock) -> tuple[FanoutJob, list[int]]:
    """Send the unfinished chunks again (after a crash lost their messages); audited; the caller commits.

    A failed job (a chunk dead-lettered) runs on: its dead chunks get fresh tries, from its checkpoint.
    """
    job = get(session, job_id)
    if job.state == "failed" and not job.cancelled:
        for chunk in session.scalars(select(JobChunk).where(JobChunk.job_id == job.id, JobChunk.state == "dead")):
            chunk.state, chunk.tries = "pending", 0
        job.state, job.finished_at = "running", None
        session.flush()
    if job.state not in OPEN or job.cancelled:
        raise Conflict(f"Job {job_id} is {job.state}; only a queued, running or failed job can be resumed.")
    messages = dispatch(session, job, clock=clock)
    audit.record(session, actor=actor, action="job.resumed", subject=f"job:{job.id}", clock=clock,
                 details={"job": job.id, "from_chunk": job.checkpoint + 1, "chunks": len(messages)})
    return job, messages


def resume_all(session: Session, *, actor: str, clock: Clock) -> list[int]:
    """Resume every open job: a server without a broker calls this at start, its executor's queue having died with it."""
    messages: list[int] = []
    for job_id in session.scalars(select(FanoutJob.id).where(FanoutJob.state.in_(OPEN),
                                                             FanoutJob.cancelled.is_(False))).all():
        messages += resume(session, job_id, actor=actor, clock=clock)[1]
    return messages


def cancel(session: Session, job_id: int, *, actor: str, clock: Clock) -> FanoutJob:
    """Stop a job: chunks not yet started are skipped (one already running finishes); audited; the caller commits."""
    job = get(session, job_id)
    if job.state not in OPEN:
        raise Conflict(f"Job {job_id} is {job.state} already; only a queued or running job can be cancelled.")
    job.cancelled, job.state, job.finished_at = True, "cancelled", clock.now()
    audit.record(session, actor=actor, action="job.cancelled", subject=f"job:{job.id}", clock=clock,
                 details={"job": job.id, "done": job.done, "total": job.total})
    return job


def summary(session: Session, job: FanoutJob) -> dict[str, int]:
    """The finished chunks' results added up (new matches for a rescan; imported and duplicates for an import)."""
    totals: dict[str, int] = {}
    for result in session.scalars(select(JobChunk.result_json).where(JobChunk.job_id == job.id,
                                                                     JobChunk.state == "done")):
        for key, value in json.loads(result or "{}").items():
            totals[key] = totals.get(key, 0) + int(value)
    return totals


def page(session: Session, *, kind: str = "", state: str = "", cursor: str | None = None,
         limit: int | None = None) -> Page[FanoutJob]:
    """Jobs newest first, one keyset page, optionally of one kind and one state (the (state, id) index)."""
    size = page_size(limit)
    query = select(FanoutJob)
    if kind:
        if kind not in KINDS:
            raise InvalidInput(f"A job's kind is one of {', '.join(KINDS)}.")
        query = query.where(FanoutJob.kind == kind)
    if state:
        if state not in STATES:
            raise InvalidInput(f"A job's state is one of {', '.join(STATES)}.")
        query = query.where(FanoutJob.state == state)
    return newest_first(session, query, FanoutJob.id, cursor=cursor, size=size)


def counts(session: Session) -> dict[tuple[str, str], int]:
    """Jobs by (kind, state), for /metrics."""
    return {(kind, state): int(n) for kind, state, n in
            session.execute(select(FanoutJob.kind, FanoutJob.state, func.count())
                            .group_by(FanoutJob.kind, FanoutJob.state))}
