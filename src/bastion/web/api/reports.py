"""CyberTipline reports over JSON: list, draft from a case, edit, approve, send, retract.

Viewing needs `cases.read`; everything that changes a report needs `cases.review`.
NCMEC is only ever called by the worker (`ncmec.advance`), never in a request.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.ncmec import lifecycle
from bastion.ncmec.lifecycle import CONNECTOR_FACTORY, VAULT_SERVICE, ReportEdit
from bastion.ncmec.tables import NcmecReport
from bastion.web.api.paging import link_next
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


class DraftIn(BaseModel):
    case_id: int


class SendIn(BaseModel):
    confirm_resubmit: bool = Field(False, description="Resubmit although an earlier submit's outcome is unknown")


class RetractIn(BaseModel):
    reason: str = ""


def report_summary(report: NcmecReport, now: datetime) -> dict[str, Any]:
    expiry = lifecycle.expires_at(report)
    return {
        "id": report.id, "case_id": report.case_id, "account_id": report.account_id, "state": report.state,
        "resume_state": report.resume_state or None, "environment": report.environment or None,
        "ncmec_report_id": report.ncmec_report_id, "lost_report_ids": json.loads(report.lost_report_ids),
        "drafted_by": report.drafted_by, "drafted_at": report.drafted_at, "edited_by": report.edited_by or None,
        "approved_by": report.approved_by or None, "approved_at": report.approved_at,
        "submitted_at": report.submitted_at, "finished_at": report.finished_at, "retracted_at": report.retracted_at,
        "age_seconds": int((now - report.drafted_at).total_seconds()),
        "expires_at": expiry if report.state in lifecycle.IN_FLIGHT else None,
        "resubmit_after": report.resubmit_after, "attention": report.attention or None,
        "error": {"step": report.error_step, "code": report.error_code, "text": report.error_text,
                  "element": report.error_element or None, "request_id": report.error_request_id or None}
        if report.error_text else None,
    }


def report_detail(db: Session, report: NcmecReport, now: datetime) -> dict[str, Any]:
    shown = lifecycle.preview(report)
    return {
        **report_summary(report, now),
        "ncmec_file_ids": json.loads(report.ncmec_file_ids),
        "retract_requested_by": report.retract_requested_by or None,
        "xml_valid": shown.valid, "xml_problem": shown.problem or None, "xml_element": shown.element,
        "document": json.loads(report.document_json),
        "files": [{"id": f.id, "case_item_id": f.case_item_id, "scan_id": f.scan_id,
                   "evidence_item_id": f.evidence_item_id, "file_name": f.file_name, "content_type": f.content_type,
                   "expected_md5": f.expected_md5 or None, "file_id": f.file_id, "md5": f.md5 or None,
                   "uploaded_at": f.uploaded_at, "fileinfo_sent": f.fileinfo_sent,
                   "details": json.loads(f.details_json)} for f in lifecycle.files_of(db, report.id)],
        "calls": [{"id": c.id, "operation": c.operation, "environment": c.environment,
                   "ncmec_report_id": c.ncmec_report_id, "file_id": c.file_id or None, "started_at": c.started_at,
                   "finished_at": c.finished_at, "outcome": c.outcome, "request_id": c.request_id or None,
                   "http_status": c.http_status, "response_code": c.response_code, "description": c.description}
                  for c in lifecycle.calls_of(db, report.id)],
        "events": [{"at": e.at, "actor": e.actor, "kind": e.kind, "details": json.loads(e.details)}
                   for e in lifecycle.events_of(db, report.id)],
    }


@router.get("", dependencies=[needs(Perm.CASES_READ)])
def list_reports(request: Request, response: Response, state: str = "", case_id: int | None = None,
                 cursor: str = "", limit: int | None = None,
                 db: Session = Depends(get_db)) -> list[dict[str, Any]]:
    """Reports newest first, by state or case. Keyset-paged: when there is more, the `X-Next-Cursor`
    header (and a `Link: rel="next"`) carries the cursor to pass back as `cursor`."""
    now = get_state(request).clock.now()
    page = lifecycle.report_page(db, state=state, case_id=case_id, cursor=cursor or None, limit=limit)
    link_next(request, response, page.next_cursor)
    return [report_summary(r, now) for r in page.rows]


@router.get("/requested", dependencies=[needs(Perm.CASES_READ)])
def requested(db: Session = Depends(get_db)) -> list[dict[str, Any]]:
    """Confirmed cases where a reviewer chose "report" and no report is drafted yet."""
    return [{"case_id": c.id, "account_id": c.account_id, "status": c.status, "classification": c.classification}
            for c in lifecycle.requested_cases(db)]


@router.post("", status_code=201)
def draft(body: DraftIn, request: Request, db: Session = Depends(get_db),
          principal: Principal = needs(Perm.CASES_REVIEW)) -> dict[str, Any]:
    """Draft the report of a confirmed case, pre-filled from the case, the platform and the vault."""
    state = get_state(request)
    report = lifecycle.draft_report(db, body.case_id, actor=principal.actor, clock=state.clock,
                                    vault=state.services.get(VAULT_SERVICE),
                                    connector_factory=state.services.get(CONNECTOR_FACTORY))
    db.commit()
    return report_detail(db, report, state.clock.now())


@router.get("/{report_id}", dependencies=[needs(Perm.CASES_READ)])
def get_report(report_id: int, request: Request, db: Session = Depends(get_db)) -> dict[str, Any]:
    return report_detail(db, lifecycle.get_report(db, report_id), get_state(request).clock.now())


@router.get("/{report_id}/xml", dependencies=[needs(Perm.CASES_READ)])
def report_xml(report_id: int, db: Session = Depends(get_db)) -> Response:
    """The report document as it would be (or was) sent; 422 naming the element if it fails the schema."""
    report = lifecycle.get_report(db, report_id)
    if report.submitted_xml and report.state not in (lifecycle.DRAFT, lifecycle.APPROVED):
        return Response(report.submitted_xml, media_type="application/xml")
    shown = lifecycle.preview(report)
    headers = {} if shown.valid else {"X-Schema-Problem": shown.problem[:500].replace("\n", " ")}
    return Response(shown.xml, status_code=200 if shown.valid else 422, media_type="application/xml",
                    headers=headers)


@router.patch("/{report_id}")
def edit(report_id: int, body: ReportEdit, request: Request, db: Session = Depends(get_db),
         principal: Principal = needs(Perm.CASES_REVIEW)) -> dict[str, Any]:
    clock = get_state(request).clock
    report = lifecycle.get_report(db, report_id)
    lifecycle.edit_report(db, report, body, actor=principal.actor, clock=clock)
    db.commit()
    return report_detail(db, report, clock.now())


@router.post("/{report_id}/approve")
def approve(report_id: int, request: Request, db: Session = Depends(get_db),
            principal: Principal = needs(Perm.CASES_REVIEW)) -> dict[str, Any]:
    state = get_state(request)
    report = lifecycle.get_report(db, report_id)
    lifecycle.approve_report(db, report, actor=principal.actor, clock=state.clock,
                             vault=state.services.get(VAULT_SERVICE))
    db.commit()
    return report_summary(report, state.clock.now())


@router.post("/{report_id}/submit")
def submit(report_id: int, request: Request, body: SendIn | None = None, db: Session = Depends(get_db),
           principal: Principal = needs(Perm.CASES_REVIEW)) -> dict[str, Any]:
    """Send an approved report now, or resume one stopped by an error."""
    clock = get_state(request).clock
    report = lifecycle.get_report(db, report_id)
    lifecycle.request_send(db, report, actor=principal.actor, clock=clock,
                           confirm_resubmit=bool(body and body.confirm_resubmit))
    db.commit()
    return report_summary(report, clock.now())


@router.post("/{report_id}/retract")
def retract(report_id: int, body: RetractIn, request: Request, db: Session = Depends(get_db),
            principal: Principal = needs(Perm.CASES_REVIEW)) -> dict[str, Any]:
    clock = get_state(request).clock
    report = lifecycle.get_report(db, report_id)
    lifecycle.retract_report(db, report, actor=principal.actor, reason=body.reason, clock=clock)
    db.commit()
    return report_summary(report, clock.now())
