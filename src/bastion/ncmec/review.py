"""People's actions on a CyberTipline report: draft it from a case, edit, approve (four-eyes), send, retract.

Nothing here calls NCMEC: an approved report is filed by the worker (`worker`), which
these actions wake through the report's timer.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from lxml import etree
from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bastion.cases.models import Case, CaseItem
from bastion.cases.service import _event as case_event
from bastion.clock import Clock
from bastion.errors import BastionError, InvalidInput, NotFound
from bastion.ncmec import draft as drafting
from bastion.ncmec import rules as ncmec_rules
from bastion.ncmec.model import IncidentType, IndustryClassification, Report, ReportAnnotations
from bastion.ncmec.reports import (
    FourEyesRequired,
    ReportConflict,
    ReportRefused,
    clear_error,
    document,
    file_preview,
    files_of,
    mark_retracted,
    preview,
    record_event,
    wake,
)
from bastion.ncmec.tables import (
    APPROVED,
    DRAFT,
    ERROR,
    FINISHED,
    IN_FLIGHT,
    PENDING,
    RETRACTED,
    NcmecApiCall,
    NcmecReport,
    NcmecReportFile,
)
from bastion.orgsettings import get_value

log = logging.getLogger(__name__)

# -- people's actions ------------------------------------------------------------------------------


def draft_report(session: Session, case_id: int, *, actor: str, clock: Clock, vault: Any,
                 connector_factory: Callable[[], Any] | None = None) -> NcmecReport:
    """Draft the report of a confirmed case, grouping all its confirmed files."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"No case {case_id}.")
    if case.status not in ("confirmed", "actioned", "closed"):
        raise ReportConflict(f"Case {case.id} is {case.status}; only a confirmed case is reported.")
    if not any(i.decision == "confirmed" for i in session.scalars(select(CaseItem).where(CaseItem.case_id == case.id))):
        raise ReportConflict(f"Case {case.id} has no confirmed item to report.")
    existing = session.scalar(select(NcmecReport).where(NcmecReport.open_key == f"case:{case.id}"))
    if existing is not None:
        raise ReportConflict(f"Case {case.id} already has report {existing.id} ({existing.state}).",
                             report_id=existing.id)
    built = drafting.build(session, case, vault=vault, connector_factory=connector_factory)
    now = clock.now()
    report = NcmecReport(case_id=case.id, account_id=case.account_id[:255], open_key=f"case:{case.id}", state=DRAFT,
                         document_json=drafting.report_json(built.report), drafted_by=actor[:200], drafted_at=now,
                         updated_at=now)
    session.add(report)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise ReportConflict(f"Case {case.id} already has a report.") from None
    for plan in built.files:
        session.add(NcmecReportFile(report_id=report.id, case_item_id=plan.case_item_id, scan_id=plan.scan_id,
                                    evidence_item_id=plan.evidence_item_id, file_name=plan.file_name[:255],
                                    content_type=plan.content_type[:100], expected_md5=plan.expected_md5,
                                    details_json=json.dumps(plan.details)))
    record_event(session, report, actor, "drafted", clock, {"files": len(built.files), "notes": built.notes})
    case_event(session, case, actor, "report_drafted", clock, details={"report": report.id})
    return report


class FileEdit(BaseModel):
    id: int
    industry_classification: str | None = Field(None, description="A1, A2, B1, B2, or empty to leave it out")
    publicly_available: bool | None = None


class ReportEdit(BaseModel):
    """The fields a reviewer edits on the report page; `document` replaces the whole report (API)."""

    incident_type: IncidentType | None = None
    incident_date_time: AwareDatetime | None = None
    escalate_to_high_priority: str | None = Field(None, description="Reason; empty clears the escalation")
    report_annotations: list[str] | None = Field(None, description="Names among ReportAnnotations' flags")
    additional_info: str | None = None
    files: list[FileEdit] = []
    document: dict[str, Any] | None = None


def _editable(report: NcmecReport) -> None:
    if report.state == DRAFT or (report.state == ERROR and report.ncmec_report_id is None):
        return
    raise ReportConflict(f"Report {report.id} is {report.state}; only a draft (or a report that failed before "
                         "NCMEC opened it) can be edited.")


def edit_report(session: Session, report: NcmecReport, changes: ReportEdit, *, actor: str, clock: Clock) -> None:
    _editable(report)
    try:
        doc = Report.model_validate(changes.document) if changes.document is not None else document(report)
        summary = doc.incident_summary
        if changes.incident_type is not None:
            summary.incident_type = changes.incident_type
        if changes.incident_date_time is not None:
            summary.incident_date_time = changes.incident_date_time
        if changes.escalate_to_high_priority is not None:
            summary.escalate_to_high_priority = changes.escalate_to_high_priority.strip() or None
        if changes.report_annotations is not None:
            unknown = set(changes.report_annotations) - set(ReportAnnotations.model_fields)
            if unknown:
                raise InvalidInput(f"Unknown report annotations: {', '.join(sorted(unknown))}; "
                                   f"known: {', '.join(ReportAnnotations.model_fields)}.")
            flags = {name: True for name in changes.report_annotations}
            summary.report_annotations = ReportAnnotations(**flags) if flags else None
        if changes.additional_info is not None:
            doc.additional_info = changes.additional_info.strip() or None
    except ValidationError as exc:
        raise InvalidInput(f"The report is not valid: {_pydantic_message(exc)}") from None
    rows = {row.id: row for row in files_of(session, report.id)}
    for change in changes.files:
        row = rows.get(change.id)
        if row is None:
            raise InvalidInput(f"Report {report.id} has no file {change.id}.")
        details = json.loads(row.details_json)
        if change.industry_classification is not None:
            value = change.industry_classification.strip()
            if value and value not in IndustryClassification.__members__:
                raise InvalidInput(f"Industry classification must be one of A1, A2, B1, B2; not {value!r}.")
            if value:
                details["industry_classification"] = value
            else:
                details.pop("industry_classification", None)
        if change.publicly_available is not None:
            details["publicly_available"] = change.publicly_available
        try:
            row.details_json = drafting.details_json(drafting.file_details(details))
        except ValidationError as exc:
            raise InvalidInput(f"File {row.id}: {_pydantic_message(exc)}") from None
    report.document_json = drafting.report_json(doc)
    if report.state == ERROR:
        clear_error(report)
        report.state, report.resume_state = DRAFT, ""
    report.edited_by, report.edited_at, report.updated_at = actor[:200], clock.now(), clock.now()
    record_event(session, report, actor, "edited", clock,
           {"fields": sorted(k for k, v in changes.model_dump(exclude={"files"}).items() if v is not None),
            "files": [f.id for f in changes.files]})


def _pydantic_message(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])


def approval_problems(session: Session, report: NcmecReport, vault: Any | None = None,
                      now: datetime | None = None) -> tuple[list[str], str | None]:
    """Everything that stops this report from being filed (the schema, then what NCMEC refuses beyond
    it, e.g. a timestamp later than `now`), and the first failing XML element."""
    problems: list[str] = []
    element: str | None = None
    shown = preview(report)
    if not shown.valid:
        problems.append(f"The report does not pass the schema: {shown.problem}")
        element = shown.element
    elif now is not None:
        for issue in ncmec_rules.check(etree.fromstring(shown.xml.encode()), now=now):
            problems.append(f"NCMEC would refuse the report: {issue}")
            element = element or issue.element
    doc = document(report)
    person = doc.reporter.reporting_person
    if not person.emails:
        problems.append("The reporter needs an email address (NCMEC refuses a phone alone): set "
                        "reports.reporter_email (organisation settings) and redraft, or edit the report.")
    rows = files_of(session, report.id)
    if not rows:
        problems.append("A report needs at least one file.")
    for row in rows:
        if row.evidence_item_id is None:
            problems.append(f"File {row.id} (case item {row.case_item_id}) has no preserved media to upload.")
        elif vault is not None:
            try:
                if vault.get(session, row.evidence_item_id).status != "preserved":
                    problems.append(f"File {row.id}: evidence item {row.evidence_item_id} was purged.")
            except BastionError as exc:
                problems.append(f"File {row.id}: {exc.message}")
        details = file_preview(report, row)
        if not details.valid:
            problems.append(f"File {row.id} details do not pass the schema: {details.problem}")
            element = element or details.element
        elif now is not None:
            for issue in ncmec_rules.check(etree.fromstring(details.xml.encode()), now=now):
                problems.append(f"File {row.id}: NCMEC would refuse its details: {issue}")
                element = element or issue.element
    return problems, element


def approve_report(session: Session, report: NcmecReport, *, actor: str, clock: Clock, vault: Any | None = None) -> None:
    """Approve a draft for filing (four-eyes if configured); the worker then files it."""
    if report.state != DRAFT:
        raise ReportConflict(f"Report {report.id} is {report.state}; only a draft can be approved.")
    if bool(get_value(session, "reports.four_eyes")) and actor in {report.drafted_by, report.edited_by}:
        raise FourEyesRequired(f"Four-eyes review: report {report.id} was written or last edited by {actor}; "
                               "another reviewer must approve it.")
    problems, element = approval_problems(session, report, vault, now=clock.now())
    if problems:
        raise ReportRefused(f"Report {report.id} cannot be approved: " + " ".join(problems), problems, element)
    now = clock.now()
    report.state, report.approved_by, report.approved_at, report.updated_at = APPROVED, actor[:200], now, now
    record_event(session, report, actor, "approved", clock)
    wake(session, report, now, clock)


def request_send(session: Session, report: NcmecReport, *, actor: str, clock: Clock,
                 confirm_resubmit: bool = False) -> None:
    """Send (or resume sending) an approved report now; resumes a report stopped by an error."""
    now = clock.now()
    if report.state == ERROR:
        clear_error(report)
        report.state, report.resume_state, report.failures = report.resume_state or APPROVED, "", 0
        record_event(session, report, actor, "resumed", clock, {"state": report.state})
    elif report.state not in (APPROVED, *IN_FLIGHT):
        raise ReportConflict(f"Report {report.id} is {report.state}; approve it first." if report.state == DRAFT
                             else f"Report {report.id} is {report.state}; there is nothing to send.")
    if report.resubmit_after is not None and report.state == APPROVED:
        if not confirm_resubmit:
            raise ReportConflict(
                f"The last submit of report {report.id} has an unknown outcome: NCMEC may hold an unfinished copy "
                f"that nobody can finish. Bastion resubmits by itself at {report.resubmit_after:%Y-%m-%d %H:%M} UTC, "
                "when NCMEC has certainly deleted any such copy. Confirm to resubmit now.",
                resubmit_after=report.resubmit_after.isoformat())
        report.resubmit_after = None
        record_event(session, report, actor, "resubmit_confirmed", clock)
    report.failures, report.updated_at = 0, now
    wake(session, report, now, clock)


def retract_report(session: Session, report: NcmecReport, *, actor: str, reason: str, clock: Clock) -> None:
    """Withdraw a report. Not yet at NCMEC: at once. Open at NCMEC: the worker retracts it there."""
    if not reason.strip():
        raise InvalidInput("Say why the report is retracted; it goes into the audit log.")
    session.refresh(report, with_for_update=True)  # serialises with a worker's intent (see Worker._intent)
    if report.state == FINISHED:
        raise ReportConflict(f"Report {report.id} was filed with NCMEC (report {report.ncmec_report_id}); "
                             "a filed report cannot be retracted. Contact NCMEC quoting the report id.")
    if report.state == RETRACTED:
        raise ReportConflict(f"Report {report.id} is already retracted.")
    in_flight = session.scalar(select(NcmecApiCall.id).where(NcmecApiCall.report_id == report.id,
                                                            NcmecApiCall.outcome == PENDING).limit(1))
    report.retract_requested_by, report.retract_reason = actor[:200], reason.strip()
    report.updated_at = clock.now()
    if report.ncmec_report_id is None and in_flight is None:
        note = {"reason": reason.strip()}
        if report.resubmit_after is not None:
            note["note"] = "an unfinished copy from the uncertain submit, if any, expires at NCMEC by itself"
        mark_retracted(session, report, actor, clock, note)
        return
    if report.state == ERROR:
        report.state, report.resume_state = report.resume_state or APPROVED, ""
    record_event(session, report, actor, "retract_requested", clock, {"reason": reason.strip()})
    wake(session, report, clock.now(), clock)
