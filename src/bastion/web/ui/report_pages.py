"""CyberTipline report pages: the list, and one report with its XML, files and every NCMEC call.

Refusals (four-eyes, schema failures, wrong state) come back to the report page as a
message; nothing is half-done. NCMEC itself is only called by the worker.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.errors import BastionError, InvalidInput
from bastion.ncmec import lifecycle
from bastion.ncmec.lifecycle import CONNECTOR_FACTORY, VAULT_SERVICE, FileEdit, ReportEdit
from bastion.ncmec.model import IncidentType, ReportAnnotations
from bastion.ncmec.tables import STATE_TITLES, STATES
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state
from bastion.web.ui.acts import act_and_return
from bastion.web.ui.paging import next_url
from bastion.web.ui.render import render

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store, private"}


@router.get("/reports")
def reports_page(request: Request, state: str = "", q: str = "", cursor: str = "", db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.CASES_READ)) -> Response:
    now = get_state(request).clock.now()
    listed = lifecycle.report_page(db, state=state, search=q, cursor=cursor or None)
    context = {"reports": listed.rows, "next_url": next_url(request, listed.next_cursor),
               "requested": lifecycle.requested_cases(db),
               "now": now, "state": state, "q": q, "states": STATES, "state_titles": STATE_TITLES,
               "expires_at": lifecycle.expires_at, "in_flight": lifecycle.IN_FLIGHT,
               "error": request.query_params.get("error")}
    return render(request, "reports.html", context, headers=NO_STORE)


@router.post("/reports/draft")
def draft_page(request: Request, case_id: int = Form(...), db: Session = Depends(get_db),
               principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    state = get_state(request)
    try:
        report = lifecycle.draft_report(db, case_id, actor=principal.actor, clock=state.clock,
                                        vault=state.services.get(VAULT_SERVICE),
                                        connector_factory=state.services.get(CONNECTOR_FACTORY))
    except BastionError as exc:
        db.rollback()
        existing = exc.extra.get("report_id")
        if existing:
            return RedirectResponse(f"/reports/{existing}?error={quote(exc.message)}", status_code=303)
        return RedirectResponse(f"/reports?error={quote(exc.message)}", status_code=303)
    db.commit()
    return RedirectResponse(f"/reports/{report.id}", status_code=303)


@router.get("/reports/{report_id}")
def report_page(request: Request, report_id: int, error: str | None = None, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.CASES_READ)) -> Response:
    state = get_state(request)
    report = lifecycle.get_report(db, report_id)
    files = lifecycle.files_of(db, report.id)
    problems: list[str] = []
    if report.state == lifecycle.DRAFT:
        problems, _ = lifecycle.approval_problems(db, report, state.services.get(VAULT_SERVICE), now=state.clock.now())
    context = {
        "report": report, "doc": lifecycle.document(report), "preview": lifecycle.preview(report),
        "files": [(f, json.loads(f.details_json), lifecycle.file_preview(report, f)) for f in files],
        "calls": lifecycle.calls_of(db, report.id), "events": lifecycle.events_of(db, report.id),
        "now": state.clock.now(), "expires": lifecycle.expires_at(report), "error": error, "problems": problems,
        "incident_types": list(IncidentType), "report_annotations": list(ReportAnnotations.model_fields),
        "editable": report.state == lifecycle.DRAFT or (report.state == lifecycle.ERROR
                                                       and report.ncmec_report_id is None),
        "lost": json.loads(report.lost_report_ids), "ncmec_file_ids": json.loads(report.ncmec_file_ids),
        "in_flight": lifecycle.IN_FLIGHT, "state_title": STATE_TITLES.get(report.state, report.state),
    }
    return render(request, "report.html", context, headers=NO_STORE)


def _act(db: Session, report_id: int, action: Callable[[], None]) -> Response:
    return act_and_return(db, action, f"/reports/{report_id}")


@router.post("/reports/{report_id}/edit")
async def report_edit(request: Request, report_id: int, db: Session = Depends(get_db),
                      principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    form = await request.form()
    clock = get_state(request).clock

    def act() -> None:
        report = lifecycle.get_report(db, report_id)
        when = str(form.get("incident_date_time", "")).strip()
        try:
            incident_at = datetime.fromisoformat(when) if when else None
        except ValueError:
            raise InvalidInput(f"Incident time {when!r} is not an ISO 8601 time like 2026-01-01T09:00:00Z.") from None
        if incident_at is not None and incident_at.tzinfo is None:
            raise InvalidInput("The incident time needs a time zone, e.g. 2026-01-01T09:00:00Z.")
        try:
            files = [FileEdit(id=int(key.removeprefix("file_class_")), industry_classification=str(value))
                     for key, value in form.items() if key.startswith("file_class_") and key[11:].isdigit()]
            changes = ReportEdit(
                incident_type=IncidentType(str(form["incident_type"])) if form.get("incident_type") else None,
                incident_date_time=incident_at,
                escalate_to_high_priority=str(form.get("escalate_to_high_priority", "")),
                report_annotations=[str(v) for v in form.getlist("report_annotations")],
                additional_info=str(form.get("additional_info", "")),
                files=files,
            )
        except (ValueError, ValidationError) as exc:
            raise InvalidInput(f"The form is not valid: {exc}") from None
        lifecycle.edit_report(db, report, changes, actor=principal.actor, clock=clock)

    return _act(db, report_id, act)


@router.post("/reports/{report_id}/approve")
def report_approve(request: Request, report_id: int, db: Session = Depends(get_db),
                   principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    state = get_state(request)
    return _act(db, report_id, lambda: lifecycle.approve_report(
        db, lifecycle.get_report(db, report_id), actor=principal.actor, clock=state.clock,
        vault=state.services.get(VAULT_SERVICE)))


@router.post("/reports/{report_id}/submit")
def report_submit(request: Request, report_id: int, confirm_resubmit: bool = Form(False),
                  db: Session = Depends(get_db), principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    clock = get_state(request).clock
    return _act(db, report_id, lambda: lifecycle.request_send(
        db, lifecycle.get_report(db, report_id), actor=principal.actor, clock=clock,
        confirm_resubmit=confirm_resubmit))


@router.post("/reports/{report_id}/retract")
def report_retract(request: Request, report_id: int, reason: str = Form(""), db: Session = Depends(get_db),
                   principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    clock = get_state(request).clock
    return _act(db, report_id, lambda: lifecycle.retract_report(
        db, lifecycle.get_report(db, report_id), actor=principal.actor, reason=reason, clock=clock))
