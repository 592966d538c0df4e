"""Asynchronous batch scanning: submit many uploads, get one id each, learn the results later.

`POST /api/v1/scans` answers 202 once the batch is committed; the items are scanned by
workers (or in-process without a broker) and reported by signed webhook when one is
configured. `GET /api/v1/scans/{id}` polls one item. The synchronous `POST /api/v1/scan`
stays for platforms that wait on an upload.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.batchscan import service
from bastion.batchscan.tasks import result_of
from bastion.broker import BrokerUnavailable
from bastion.web.guard import needs
from bastion.web.scaleout import CONFIG, PROBE, publish_now
from bastion.web.state import AppState, get_db, get_state

router = APIRouter(prefix="/api/v1", tags=["scan"])


def _check_broker(state: AppState) -> None:
    probe = state.services.get(PROBE)
    error = probe.error() if probe is not None else None
    if error is not None:
        raise BrokerUnavailable(f"The task broker is not answering ({error.split(':')[0]}); nothing was queued. "
                                f"Retry after {BrokerUnavailable.retry_after_seconds} seconds.")


@router.post("/scans", status_code=202)
def submit_batch(request: Request, body: Any = Body(..., description='{"items": [{"data": base64 | "url": ..., '
                                                                       '"content_id", "account_id", "uploaded_at", '
                                                                       '"client_ip", "metadata"}]}'),
                 db: Session = Depends(get_db), principal: Principal = needs(Perm.SCAN_SUBMIT)) -> JSONResponse:
    """Queue a batch of uploads or URLs; 202 with one id per item (or that item's error)."""
    state = get_state(request)
    items = body.get("items") if isinstance(body, dict) else None
    _check_broker(state)
    outcomes, messages = service.submit(db, items, actor=principal.actor, clock=state.clock,
                                        config=state.services[CONFIG], max_item_bytes=state.settings.media_max_bytes)
    db.commit()
    publish_now(state, messages)
    return JSONResponse({"items": [o.as_json() for o in outcomes]}, status_code=202)


@router.get("/scans/{job_id:uuid}")
def poll(job_id: uuid.UUID, db: Session = Depends(get_db),
         principal: Principal = needs(Perm.SCAN_SUBMIT)) -> dict[str, Any]:
    """One asynchronous scan: queued, running, done (with its matches), failed (refused media) or dead."""
    return result_of(db, service.get_job(db, str(job_id)))


@router.post("/scans/{job_id:uuid}/retry", status_code=202)
def retry(request: Request, job_id: uuid.UUID, db: Session = Depends(get_db),
          principal: Principal = needs(Perm.SCAN_SUBMIT)) -> dict[str, Any]:
    """Give a dead-lettered scan a fresh set of tries."""
    state = get_state(request)
    _check_broker(state)
    job, message = service.retry_dead(db, str(job_id), actor=principal.actor, clock=state.clock)
    db.commit()
    publish_now(state, [message])
    return {"id": job.public_id, "status": job.status}


@router.get("/scan-jobs/dead")
def dead_letters(db: Session = Depends(get_db), principal: Principal = needs(Perm.SCAN_SUBMIT)) -> list[dict[str, Any]]:
    """Dead-lettered scans, newest first, each retryable with POST /api/v1/scans/{id}/retry."""
    return [result_of(db, job) for job in service.dead_jobs(db)]
