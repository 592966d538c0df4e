"""Accepting a batch: validate each item on its own, record a job and a task message per good one.

Everything happens in the caller's transaction; nothing is published until it commits
(the relay does that). A malformed item fails alone with its error; the others proceed.
Resubmitting an item (same content id and media) finds its existing job, so a platform
retrying a timed-out request never has an upload scanned twice.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bastion import audit
from bastion.batchscan.models import OPEN, ScanJob
from bastion.broker import BrokerConfig, enqueue
from bastion.clock import Clock
from bastion.db.keyset import Page, after_id, cut, page_size
from bastion.errors import BastionError, Conflict, InvalidInput, NotFound
from bastion.media.video_formats import sniff_container

RUN_TASK = "scans.run"
#: The same work as `scans.run` for an uploaded video, routed to the `video` queue: a video costs
#: seconds to minutes of decoding, so it runs on the machines sized for it and never holds up images.
VIDEO_TASK = "video.scan"
WEBHOOK_TASK = "scans.webhook"


def task_for(job: ScanJob) -> str:
    """`video.scan` for an uploaded video (sniffed from its first bytes), else `scans.run` (images, URLs)."""
    if job.source != "url" and job.media and sniff_container(bytes(job.media[:4096])) is not None:
        return VIDEO_TASK
    return RUN_TASK


class BatchTooLarge(BastionError):
    code = "batch_too_large"
    status = 413


class QueueFull(BastionError):
    """Back-pressure: too many scans are waiting; the platform should come back later."""

    code = "queue_full"
    status = 429
    retry_after_seconds = 10


class ItemTooLarge(BastionError):
    code = "too_large"
    status = 413


@dataclass(frozen=True)
class ItemOutcome:
    """What became of one item: its job's public id, or why it was refused."""

    index: int
    id: str | None = None
    status: str = ""
    error: BastionError | None = None

    def as_json(self) -> dict[str, Any]:
        if self.error is not None:
            return {"index": self.index, "status": "rejected",
                    "error": {"code": self.error.code, "detail": self.error.message}}
        return {"index": self.index, "id": self.id, "status": self.status}


@dataclass(frozen=True)
class _Item:
    source: str
    url: str
    media: bytes | None
    digest: str
    content_id: str
    account_id: str
    uploaded_at: datetime | None
    client_ip: str
    metadata: dict[str, Any]


def depth(session: Session) -> int:
    """Jobs not yet finished: what back-pressure is measured on (broker-independent, one indexed count)."""
    return int(session.scalar(select(func.count()).select_from(ScanJob).where(ScanJob.status.in_(OPEN))) or 0)


def submit(session: Session, items: Any, *, actor: str, clock: Clock, config: BrokerConfig,
           max_item_bytes: int) -> tuple[list[ItemOutcome], list[int]]:
    """Record the batch's good items; returns each item's outcome and the task messages to relay.

    Raises `BatchTooLarge` (413) past `config.max_batch_items` and `QueueFull` (429) when the
    batch would take the unfinished jobs past `config.max_queue_depth`; both before anything is written.
    """
    if not isinstance(items, list) or not items:
        raise InvalidInput('Send {"items": [...]} with at least one item, each with "data" (base64) or "url".')
    if len(items) > config.max_batch_items:
        raise BatchTooLarge(f"A batch may hold at most {config.max_batch_items} items; this one has {len(items)}. "
                            "Split it into smaller batches.", limit=config.max_batch_items)
    parsed: list[_Item | BastionError] = []
    for raw in items:
        try:
            parsed.append(_parse(raw, max_item_bytes))
        except BastionError as exc:
            parsed.append(exc)
    good = sum(isinstance(p, _Item) for p in parsed)
    waiting = depth(session)
    if good and waiting + good > config.max_queue_depth:
        raise QueueFull(f"{waiting} scans are waiting (the limit is {config.max_queue_depth}); "
                        f"retry after {QueueFull.retry_after_seconds} seconds.")
    outcomes: list[ItemOutcome] = []
    messages: list[int] = []
    for index, item in enumerate(parsed):
        if isinstance(item, BastionError):
            outcomes.append(ItemOutcome(index, error=item))
            continue
        job, new = _add(session, item, actor=actor, clock=clock)
        if new:
            messages.append(enqueue(session, task_for(job), {"job_id": job.id}, clock=clock).id)
        outcomes.append(ItemOutcome(index, id=job.public_id, status=job.status))
    if messages:
        audit.record(session, actor=actor, action="scans.batch_submitted", subject="scans", clock=clock,
                     details={"items": len(items), "queued": len(messages),
                              "rejected": sum(o.error is not None for o in outcomes)})
    return outcomes, messages


def _parse(raw: Any, max_item_bytes: int) -> _Item:
    if not isinstance(raw, dict):
        raise InvalidInput('Each item must be an object with "data" (base64) or "url", and its metadata.')
    data, url = raw.get("data"), raw.get("url")
    if (data is None) == (url is None):
        raise InvalidInput('Give exactly one of "data" (the file, base64) or "url".')
    text_fields = {}
    for name in ("content_id", "account_id", "client_ip"):
        value = raw.get(name, "")
        if not isinstance(value, str):
            raise InvalidInput(f'"{name}" must be a string.')
        text_fields[name] = value
    metadata = raw.get("metadata", {})
    if not isinstance(metadata, dict):
        raise InvalidInput('"metadata" must be a JSON object, e.g. {"channel": "dm"}.')
    uploaded_at = None
    if raw.get("uploaded_at") is not None:
        try:
            uploaded_at = datetime.fromisoformat(str(raw["uploaded_at"]).replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput('"uploaded_at" must be ISO 8601 with a zone, e.g. 2026-11-28T10:00:00Z.') from None
        if uploaded_at.tzinfo is None:
            raise InvalidInput('"uploaded_at" needs a time zone, e.g. 2026-11-28T10:00:00Z.')
    if url is not None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 2000:
            raise InvalidInput('"url" must be an http(s) URL of at most 2000 characters.')
        return _Item("url", url, None, hashlib.sha256(url.encode()).hexdigest(), uploaded_at=uploaded_at,
                     metadata=metadata, **text_fields)
    if not isinstance(data, str):
        raise InvalidInput('"data" must be the file as a base64 string.')
    if len(data) > (max_item_bytes + 2) // 3 * 4 + 4:
        raise ItemTooLarge(f"The file is larger than {max_item_bytes} bytes; it was not queued.")
    try:
        media = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput('"data" is not valid base64.') from None
    if not media:
        raise InvalidInput('"data" is empty.')
    if len(media) > max_item_bytes:
        raise ItemTooLarge(f"The file is larger than {max_item_bytes} bytes; it was not queued.")
    return _Item("upload", "", media, hashlib.sha256(media).hexdigest(), uploaded_at=uploaded_at, metadata=metadata,
                 **text_fields)


def _add(session: Session, item: _Item, *, actor: str, clock: Clock) -> tuple[ScanJob, bool]:
    """Insert the item's job unless its key has one (race-free on both databases); (job, created)."""
    key = hashlib.sha256(f"{item.content_id}\n{item.source}\n{item.digest}".encode()).hexdigest()
    values = dict(public_id=str(uuid.uuid4()), idempotency_key=key, status="queued", source=item.source, url=item.url,
                  media=item.media, media_sha256=item.digest if item.media is not None else "",
                  content_id=item.content_id[:255], account_id=item.account_id[:255], uploaded_at=item.uploaded_at,
                  client_ip=item.client_ip[:64], metadata_json=json.dumps(item.metadata, default=str), attempts=0,
                  last_error="", worker="", webhook_status="", submitted_by=actor[:200], created_at=clock.now())
    dialect = session.get_bind().dialect.name
    insert: Any = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[dialect]
    new_id = session.execute(insert(ScanJob).values(**values).on_conflict_do_nothing(
        index_elements=[ScanJob.idempotency_key]).returning(ScanJob.id)).scalar_one_or_none()
    if new_id is None:
        return session.scalars(select(ScanJob).where(ScanJob.idempotency_key == key)).one(), False
    return session.get_one(ScanJob, new_id), True


def get_job(session: Session, public_id: str) -> ScanJob:
    job = session.scalars(select(ScanJob).where(ScanJob.public_id == public_id)).one_or_none()
    if job is None:
        raise NotFound(f"There is no asynchronous scan {public_id}; use an id a POST /api/v1/scans answered with.")
    return job


def dead_jobs(session: Session, limit: int = 100) -> list[ScanJob]:
    """Dead letters, newest first: jobs whose tries ran out without an outcome."""
    return list(session.scalars(select(ScanJob).where(ScanJob.status == "dead").order_by(ScanJob.id.desc())
                                .limit(limit)))


def dead_page(session: Session, *, search: str = "", cursor: str | None = None, limit: int | None = None
              ) -> Page[ScanJob]:
    """Dead letters newest first, one keyset page; `search` is a job id, a content id, or words of the error."""
    size = page_size(limit)
    query = select(ScanJob).where(ScanJob.status == "dead")
    term = search.strip()
    if term:
        query = query.where(or_(ScanJob.public_id == term.lower(), ScanJob.content_id == term,
                                ScanJob.last_error.contains(term, autoescape=True)))
    after = after_id(cursor)
    if after is not None:
        query = query.where(ScanJob.id < after)
    rows = list(session.scalars(query.order_by(ScanJob.id.desc()).limit(size + 1)))
    return cut(rows, size, key=lambda job: [job.id])


def retry_dead(session: Session, public_id: str, *, actor: str, clock: Clock) -> tuple[ScanJob, int]:
    """Give a dead job a fresh set of tries (audited); returns it and the task message to relay."""
    job = get_job(session, public_id)
    if job.status != "dead":
        raise Conflict(f"Scan {public_id} is {job.status}, not dead; only dead letters can be retried.")
    job.status, job.attempts, job.finished_at = "queued", 0, None
    message = enqueue(session, task_for(job), {"job_id": job.id}, clock=clock)
    audit.record(session, actor=actor, action="scans.retry", subject=f"scan_job:{job.public_id}", clock=clock,
                 details={"job": job.public_id, "last_error": job.last_error[:500]})
    return job, message.id
