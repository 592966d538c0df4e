"""The `scans.run` and `scans.webhook` tasks, idempotent by job, on a worker or in-process.

`scans.run` first counts the try in its own committed transaction (so a message that kills
every worker that takes it still uses tries up, and is dead-lettered after `max_tries`),
then scans and records under the job's row lock in one transaction: the scan row, its
matches, the job's outcome and the webhook message commit together or not at all. A
redelivered message (its worker was killed, or Redis's visibility timeout passed) finds
the job finished and does nothing, so each job is recorded exactly once.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.orm import Session

from bastion.batchscan.models import FINAL, ScanJob
from bastion.batchscan.service import RUN_TASK, VIDEO_TASK, WEBHOOK_TASK
from bastion.broker import enqueue
from bastion.errors import BastionError
from bastion.executor import TaskContext, registry
from bastion.media import MediaError
from bastion.media.isolation import DecoderBusy
from bastion.media.video_formats import sniff_container
from bastion.platform.signing import RequestSigner
from bastion.scanning import views
from bastion.scanning.service import Scanner, UploadMeta
from bastion.scanning.video_scan import scan_video

log = logging.getLogger(__name__)

#: `TaskContext.services` keys the tasks read.
SCANNER = "scanning.scanner"
MAX_TRIES = "broker.max_tries"
WEBHOOK = "scans.webhook_target"
#: Recorded on each try, so an operator (and the tests) can tell which process had a job.
WORKER_NAME = f"{socket.gethostname()}:{os.getpid()}"[:100]


@dataclass(frozen=True)
class WebhookTarget:
    """Where results go and the secret that signs them (the platform connector's `v1` scheme)."""

    url: str
    secret: str
    timeout_seconds: float = 10.0


@registry.task(VIDEO_TASK)
@registry.task(RUN_TASK)
def run_job(ctx: TaskContext, payload: dict[str, Any]) -> None:
    job_id = int(payload["job_id"])
    scanner: Scanner = ctx.services[SCANNER]
    max_tries = int(ctx.services.get(MAX_TRIES, 5))
    if not _start(ctx, job_id, max_tries):
        return
    with ctx.sessions() as session, session.begin():
        job = _lock(session, job_id)
        if job is None or job.status != "running":
            return  # another delivery of the same message finished it meanwhile
        meta = UploadMeta(content_id=job.content_id, account_id=job.account_id, uploaded_at=job.uploaded_at,
                          client_ip=job.client_ip, extra=json.loads(job.metadata_json or "{}"))
        now = ctx.clock.now()
        try:
            with session.begin_nested():
                if job.source == "url":
                    result = scanner.scan_url(session, job.url, meta, actor=job.submitted_by)
                elif sniff_container((job.media or b"")[:4096]) is not None:  # a video: any size up to the cap
                    result = scan_video(scanner, session, job.media or b"", meta, source="upload",
                                        actor=job.submitted_by)
                else:
                    result = scanner.scan_bytes(session, job.media or b"", meta, source="upload",
                                                actor=job.submitted_by)
        except DecoderBusy:  # this process is at its decoding limit: not the media's fault; the try is retried
            raise
        except (MediaError, BastionError) as exc:  # the media was refused: final, and retrying cannot help
            job.status, job.last_error = "failed", f"{exc.code}: {exc.message}"[:2000]
        else:
            job.status, job.scan_id, job.last_error = "done", result.scan_id, ""
        job.media, job.finished_at = None, now  # scanned or refused: the bytes are not kept
        if ctx.services.get(WEBHOOK) is not None:
            job.webhook_status = "pending"
            enqueue(session, WEBHOOK_TASK, {"job_id": job.id}, clock=ctx.clock)


def _start(ctx: TaskContext, job_id: int, max_tries: int) -> bool:
    """Count this try before any work; False when there is nothing to do (finished, or now dead)."""
    with ctx.sessions() as session, session.begin():
        job = _lock(session, job_id)
        if job is None or job.status in FINAL:
            return False
        job.attempts += 1
        if job.attempts > max_tries:
            job.status, job.finished_at = "dead", ctx.clock.now()
            job.last_error = (f"{max_tries} tries never recorded an outcome (each worker died or failed); "
                              f"retry it with POST /api/v1/scans/{job.public_id}/retry. {job.last_error}")[:2000]
            log.error("scan job dead-lettered", extra={"job": job.public_id, "tries": max_tries})
            return False
        job.status, job.started_at, job.worker = "running", ctx.clock.now(), WORKER_NAME
        return True


def _lock(session: Session, job_id: int) -> ScanJob | None:
    """The job, locked by a write before it is read.

    A no-op UPDATE takes the row lock on PostgreSQL (like FOR UPDATE) and the write lock on
    SQLite up front: a transaction that read first and wrote later could not upgrade there
    once another thread had written ("database is locked"), however long the busy timeout.
    """
    session.execute(update(ScanJob).where(ScanJob.id == job_id).values(worker=ScanJob.worker)
                    .execution_options(synchronize_session=False))
    return session.get(ScanJob, job_id, populate_existing=True)


def result_of(session: Session, job: ScanJob) -> dict[str, Any]:
    """What the platform is told about a job, polled or by webhook."""
    body: dict[str, Any] = {"id": job.public_id, "status": job.status, "content_id": job.content_id,
                            "attempts": job.attempts,
                            "created_at": job.created_at.isoformat(),
                            "finished_at": job.finished_at.isoformat() if job.finished_at else None}
    if job.status in ("failed", "dead"):
        body["error"] = job.last_error
    if job.scan_id is not None:
        scan = views.get_scan(session, job.scan_id)
        body["scan"] = {
            "scan_id": scan.id, "md5": scan.md5, "pdq": scan.pdq, "match_count": scan.match_count,
            "allowed": scan.allowed,
            "matches": [{"bank": m.bank_name, "entry_id": m.entry_id, "signal_type": m.signal_type,
                         "distance": m.distance, "classification": m.classification}
                        for m in views.matches_by_scan(session, [scan.id])[scan.id]],
        }
    return body


@registry.task(WEBHOOK_TASK)
def send_webhook(ctx: TaskContext, payload: dict[str, Any]) -> None:
    """POST the job's result, signed, with the job id as Idempotency-Key; at least once, marked once."""
    target: WebhookTarget | None = ctx.services.get(WEBHOOK)
    job_id = int(payload["job_id"])
    with ctx.sessions() as session:
        job = session.get(ScanJob, job_id)
        if job is None or target is None or job.webhook_status != "pending":
            return
        body = json.dumps({"event": "scan.finished", "scan": result_of(session, job)}, sort_keys=True).encode()
        public_id = job.public_id
    path = httpx.URL(target.url).raw_path.decode()
    headers = RequestSigner(target.secret).sign("POST", path, body, idempotency_key=f"scan-{public_id}")
    response = httpx.post(target.url, content=body, timeout=target.timeout_seconds,
                          headers={**headers, "Content-Type": "application/json"})
    response.raise_for_status()  # a refusal raises: the task is retried, then logged as failed
    with ctx.sessions() as session, session.begin():
        job = _lock(session, job_id)
        if job is not None and job.webhook_status == "pending":
            job.webhook_status, job.webhook_sent_at = "sent", ctx.clock.now()
