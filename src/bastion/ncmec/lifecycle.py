"""The CyberTipline report lifecycle: draft, edit, approve, and the worker that files it.

States::

    draft -> approved -> submitted -> files_uploaded -> file_details_sent -> finished
      |         |            \\______________ retracted (retract before finish) ___/
      |         +-> error (a person must act; `resume_state` remembers where it stopped)
      +-> retracted

**Intent, then result.** Every call to NCMEC is written to ``ncmec_api_calls`` as an
intent (outcome ``pending``) and committed *before* the request leaves; its result
and the state change it causes are committed together afterwards. A worker that dies
at any point therefore leaves either no trace (nothing was sent), a pending intent
(the call may or may not have happened), or the result. The next worker reconciles a
pending intent by operation:

* ``submit``: the API has no lookup, so nobody can know whether NCMEC opened a report.
  Bastion does **not** resubmit at once. The report waits (``resubmit_after``, flagged
  for attention) until NCMEC's own expiry rule proves any such orphan gone: an
  unfinished report that nobody changed is deleted 24 h after opening, and an orphan's
  id was never learned so nobody can change or finish it. After 24 h + 1 h margin
  from the uncertain call, the worker submits again. A reviewer may choose to submit
  at once instead (``confirm_resubmit``), accepting an unfinished orphan at NCMEC
  that expires by itself. Only one report is ever *finished*.
* ``upload``: the file is uploaded again. If the first attempt did attach it, NCMEC's
  ``finish`` reply lists the extra ``fileId``; Bastion records and flags it.
* ``fileinfo``, ``finish``, ``retract``: repeated. A repeated ``finish`` answered with
  5102 (already finished) *confirms* the first one; likewise 5101 for ``retract``.

The same rules apply when the call returns :class:`NcmecUncertainError` (or an
unusable reply) instead of dying; ``request_sent=False`` means certainly nothing
happened and the call is simply retried later.

**Lost reports.** NCMEC deletes an unfinished report 24 h after opening or 1 h after
its last change, whichever is later. A watch timer flags a report as stalled
``reports.stall_warning_minutes`` before that moment, and wakes the worker (the watch
itself never re-creates anything). A report is re-created (new ``submit``, same
content, the lost id kept in ``lost_report_ids``) only on proof that it is gone:

* NCMEC answers 5001 (report does not exist) to an upload, fileinfo or finish for it; or
* Bastion's own record shows NCMEC's deletion moment has passed (counted from the latest
  moment NCMEC *may* have seen a change, uncertain and interrupted calls included, plus
  a margin) **and no finish was ever sent for it**. Once a finish was sent, only NCMEC's
  answer to another finish decides: 5102 means filed, 5001 means gone.

A report stopped in ``error`` is flagged but not re-created until a person resumes it.
The NCMEC environment is fixed at the first submit: a worker configured for another
environment stops with an error instead of continuing (or re-creating) the report there.

**One worker per report.** A worker leases the report row (conditional UPDATE, as the
timers do); a lease outlives any single call by far, so a pending intent seen by the
lease holder is always a dead worker's.
"""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from lxml import etree
from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from sqlalchemy import exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bastion import audit, timers
from bastion.cases.models import Case, CaseEvent, CaseItem
from bastion.cases.service import _event as case_event
from bastion.clock import Clock
from bastion.errors import BastionError, Conflict, InvalidInput, NotFound
from bastion.ncmec import draft as drafting
from bastion.ncmec.client import CyberTiplineClient
from bastion.ncmec.errors import (
    FileDoesNotExistError,
    NcmecAuthError,
    NcmecError,
    NcmecProtocolError,
    NcmecServerError,
    NcmecUncertainError,
    ReportAlreadyFinishedError,
    ReportAlreadyRetractedError,
    ReportDoesNotExistError,
    ReportValidationError,
    UploadIntegrityError,
)
from bastion.ncmec.model import IncidentType, IndustryClassification, Report, ReportAnnotations
from bastion.ncmec.tables import (
    APPROVED,
    DRAFT,
    ERROR,
    FAILED,
    FILE_DETAILS_SENT,
    FILES_UPLOADED,
    FINISHED,
    IN_FLIGHT,
    INTERRUPTED,
    NOT_SENT,
    OK,
    PENDING,
    RETRACTED,
    SUBMITTED,
    UNCERTAIN,
    NcmecApiCall,
    NcmecReport,
    NcmecReportEvent,
    NcmecReportFile,
)
from bastion.ncmec.xml import render, to_element
from bastion.orgsettings import get_value

log = logging.getLogger(__name__)

ACTOR = "system:ncmec"
RECIPIENT = "NCMEC CyberTipline"
RETENTION_POLICY = "cybertipline_report"
ADVANCE_TASK = "ncmec.advance"
WATCH_TASK = "ncmec.watch"
#: `TaskContext.services` keys read here.
CLIENT_FACTORY = "ncmec.client_factory"
VAULT_SERVICE = "evidence.vault"
CONNECTOR_FACTORY = "platform.connector_factory"

#: NCMEC's published rule for unfinished reports.
OPEN_LIFETIME = timedelta(hours=24)
IDLE_LIFETIME = timedelta(hours=1)
#: Added to an expiry before Bastion treats it as proof that the report is gone.
LOSS_MARGIN = timedelta(minutes=5)
#: After an uncertain submit: when any report it may have opened is certainly deleted.
ORPHAN_GRACE = OPEN_LIFETIME + timedelta(hours=1)
#: A worker's hold on a report; far longer than any single call.
LEASE = timedelta(minutes=30)
MAX_RETRY_DELAY = timedelta(hours=1)
FIRST_RETRY_DELAY = timedelta(seconds=30)
NOT_CONFIGURED_RETRY = timedelta(minutes=15)

ClientFactory = Callable[[], CyberTiplineClient]
R = TypeVar("R")


# -- errors shown to people ------------------------------------------------------------------------


class ReportMissing(NotFound):
    code = "report_not_found"


class ReportConflict(Conflict):
    code = "report_state"


class FourEyesRequired(BastionError):
    """The approver wrote or last edited the report, and four-eyes review is on."""

    code = "four_eyes"
    status = 403


class ReportRefused(InvalidInput):
    """The report cannot be approved as it is; `problems` lists why (elements named)."""

    code = "report_incomplete"

    def __init__(self, message: str, problems: list[str], element: str | None = None) -> None:
        super().__init__(message, problems=problems, element=element)
        self.problems, self.element = problems, element


# -- reading ---------------------------------------------------------------------------------------


def get_report(session: Session, report_id: int) -> NcmecReport:
    report = session.get(NcmecReport, report_id)
    if report is None:
        raise ReportMissing(f"No CyberTipline report {report_id}.")
    return report


def files_of(session: Session, report_id: int) -> list[NcmecReportFile]:
    return list(session.scalars(select(NcmecReportFile).where(NcmecReportFile.report_id == report_id)
                                .order_by(NcmecReportFile.id)))


def calls_of(session: Session, report_id: int) -> list[NcmecApiCall]:
    return list(session.scalars(select(NcmecApiCall).where(NcmecApiCall.report_id == report_id)
                                .order_by(NcmecApiCall.id)))


def events_of(session: Session, report_id: int) -> list[NcmecReportEvent]:
    return list(session.scalars(select(NcmecReportEvent).where(NcmecReportEvent.report_id == report_id)
                                .order_by(NcmecReportEvent.id)))


def list_reports(session: Session, *, state: str | None = None, case_id: int | None = None,
                 limit: int = 200) -> list[NcmecReport]:
    query = select(NcmecReport).order_by(NcmecReport.id.desc()).limit(limit)
    if state:
        query = query.where(NcmecReport.state == state)
    if case_id is not None:
        query = query.where(NcmecReport.case_id == case_id)
    return list(session.scalars(query))


def requested_cases(session: Session, limit: int = 200) -> list[Case]:
    """Cases where a reviewer chose "report" and no live report exists yet."""
    live = exists(select(NcmecReport.id).where(NcmecReport.case_id == Case.id, NcmecReport.state != RETRACTED))
    requested = exists(select(CaseEvent.id).where(CaseEvent.case_id == Case.id, CaseEvent.kind == "report_requested"))
    return list(session.scalars(select(Case).where(requested, ~live).order_by(Case.id).limit(limit)))


def document(report: NcmecReport) -> Report:
    return drafting.load_report(report.document_json)


def expires_at(report: NcmecReport) -> datetime | None:
    """When NCMEC deletes this report if it is still unfinished (None: not open at NCMEC)."""
    if report.ncmec_report_id is None or report.submitted_at is None:
        return None
    last = report.last_change_at or report.submitted_at
    return max(report.submitted_at + OPEN_LIFETIME, last + IDLE_LIFETIME)


@dataclass(frozen=True)
class Preview:
    """The XML a report would send, and whether it passes the schema (naming the element if not)."""

    xml: str
    valid: bool
    problem: str = ""
    element: str | None = None
    line: int | None = None


def _preview_of(node: Any) -> Preview:
    try:
        return Preview(render(node).decode(), True)
    except ReportValidationError as exc:
        raw = etree.tostring(to_element(node, node.xml_tag), pretty_print=True, encoding="unicode")
        return Preview(raw, False, str(exc.issues[0]) if exc.issues else exc.description, exc.element, exc.line)


def preview(report: NcmecReport) -> Preview:
    return _preview_of(document(report))


def file_preview(report: NcmecReport, row: NcmecReportFile) -> Preview:
    try:
        details = drafting.file_details(json.loads(row.details_json), report_id=report.ncmec_report_id,
                                        file_id=row.file_id)
    except ValidationError as exc:
        return Preview("", False, str(exc))
    return _preview_of(details)


# -- people's actions ------------------------------------------------------------------------------


def _event(session: Session, report: NcmecReport, actor: str, kind: str, clock: Clock,
           details: dict[str, Any] | None = None) -> None:
    session.add(NcmecReportEvent(report_id=report.id, at=clock.now(), actor=actor[:200], kind=kind[:32],
                                 details=json.dumps(details or {}, default=str)))
    audit.record(session, actor=actor, action=f"ncmec.report.{kind}", subject=f"ncmec_report:{report.id}",
                 details={"case": report.case_id, "state": report.state, "ncmec_report_id": report.ncmec_report_id,
                          **(details or {})}, clock=clock)


def _wake(session: Session, report: NcmecReport, at: datetime, clock: Clock) -> None:
    """Have the ticker run the worker for this report at `at` (one timer per report)."""
    timers.schedule(session, kind=ADVANCE_TASK, due_at=at, clock=clock, subject=f"ncmec_report:{report.id}",
                    payload={"report_id": report.id}, dedupe_key=f"ncmec:{report.id}:advance")


def _arm_watch(session: Session, report: NcmecReport, clock: Clock) -> None:
    """Move the stall watch to `stall_warning_minutes` before NCMEC's deletion of this open report."""
    expiry = expires_at(report)
    if expiry is None:
        return
    warn = expiry - timedelta(minutes=int(get_value(session, "reports.stall_warning_minutes")))
    timers.schedule(session, kind=WATCH_TASK, due_at=max(warn, clock.now()), clock=clock,
                    subject=f"ncmec_report:{report.id}", payload={"report_id": report.id},
                    dedupe_key=f"ncmec:{report.id}:watch")


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
    _event(session, report, actor, "drafted", clock, {"files": len(built.files), "notes": built.notes})
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
        _clear_error(report)
        report.state, report.resume_state = DRAFT, ""
    report.edited_by, report.edited_at, report.updated_at = actor[:200], clock.now(), clock.now()
    _event(session, report, actor, "edited", clock,
           {"fields": sorted(k for k, v in changes.model_dump(exclude={"files"}).items() if v is not None),
            "files": [f.id for f in changes.files]})


def _pydantic_message(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])


def approval_problems(session: Session, report: NcmecReport, vault: Any | None = None) -> tuple[list[str], str | None]:
    """Everything that stops this report from being filed, and the first failing XML element."""
    problems: list[str] = []
    element: str | None = None
    shown = preview(report)
    if not shown.valid:
        problems.append(f"The report does not pass the schema: {shown.problem}")
        element = shown.element
    doc = document(report)
    person = doc.reporter.reporting_person
    if not person.emails and not person.phones:
        problems.append("The reporter needs an email or a phone: set reports.reporter_email (organisation settings) "
                        "and redraft, or edit the report.")
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
    return problems, element


def approve_report(session: Session, report: NcmecReport, *, actor: str, clock: Clock, vault: Any | None = None) -> None:
    """Approve a draft for filing (four-eyes if configured); the worker then files it."""
    if report.state != DRAFT:
        raise ReportConflict(f"Report {report.id} is {report.state}; only a draft can be approved.")
    if bool(get_value(session, "reports.four_eyes")) and actor in {report.drafted_by, report.edited_by}:
        raise FourEyesRequired(f"Four-eyes review: report {report.id} was written or last edited by {actor}; "
                               "another reviewer must approve it.")
    problems, element = approval_problems(session, report, vault)
    if problems:
        raise ReportRefused(f"Report {report.id} cannot be approved: " + " ".join(problems), problems, element)
    now = clock.now()
    report.state, report.approved_by, report.approved_at, report.updated_at = APPROVED, actor[:200], now, now
    _event(session, report, actor, "approved", clock)
    _wake(session, report, now, clock)


def request_send(session: Session, report: NcmecReport, *, actor: str, clock: Clock,
                 confirm_resubmit: bool = False) -> None:
    """Send (or resume sending) an approved report now; resumes a report stopped by an error."""
    now = clock.now()
    if report.state == ERROR:
        _clear_error(report)
        report.state, report.resume_state, report.failures = report.resume_state or APPROVED, "", 0
        _event(session, report, actor, "resumed", clock, {"state": report.state})
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
        _event(session, report, actor, "resubmit_confirmed", clock)
    report.failures, report.updated_at = 0, now
    _wake(session, report, now, clock)


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
        _mark_retracted(session, report, actor, clock, note)
        return
    if report.state == ERROR:
        report.state, report.resume_state = report.resume_state or APPROVED, ""
    _event(session, report, actor, "retract_requested", clock, {"reason": reason.strip()})
    _wake(session, report, clock.now(), clock)


def _mark_retracted(session: Session, report: NcmecReport, actor: str, clock: Clock,
                    details: dict[str, Any] | None = None) -> None:
    report.state, report.open_key, report.retracted_at = RETRACTED, None, clock.now()
    report.resume_state, report.resubmit_after, report.updated_at = "", None, clock.now()
    _event(session, report, actor, "retracted", clock, details)
    case = session.get(Case, report.case_id)
    if case is not None:
        case_event(session, case, actor, "report_retracted", clock,
                   details={"report": report.id, "ncmec_report_id": report.ncmec_report_id})


def _clear_error(report: NcmecReport) -> None:
    report.error_step, report.error_code, report.error_text = "", None, ""
    report.error_element, report.error_request_id = "", ""


# -- the worker ------------------------------------------------------------------------------------

_CONTINUE, _STOP = "continue", "stop"


class Worker:
    """Drives approved reports through submit, upload, fileinfo and finish."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, services: dict[str, Any]) -> None:
        self.sessions, self.clock, self.services = sessions, clock, services
        self._client: CyberTiplineClient | None = None

    # -- leasing ---------------------------------------------------------------------------------

    def _claim(self, report_id: int, owner: str) -> bool:
        now = self.clock.now()
        with self.sessions() as session, session.begin():
            result = session.execute(
                update(NcmecReport)
                .where(NcmecReport.id == report_id,
                       or_(NcmecReport.lease_until.is_(None), NcmecReport.lease_until <= now))
                .values(lease_owner=owner[:100], lease_until=now + LEASE)
            )
            return bool(result.rowcount == 1)

    def _release(self, report_id: int, owner: str) -> None:
        with self.sessions() as session, session.begin():
            session.execute(update(NcmecReport).where(NcmecReport.id == report_id, NcmecReport.lease_owner == owner[:100])
                            .values(lease_owner="", lease_until=None))

    @contextmanager
    def _leased(self, report_id: int) -> Iterator[str | None]:
        owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"[-100:]
        if not self._claim(report_id, owner):
            yield None
            return
        try:
            yield owner
        except Exception:
            self._release(report_id, owner)
            raise
        # A BaseException (the process being stopped) leaves the lease to expire, like a crash.
        self._release(report_id, owner)

    # -- entry points ----------------------------------------------------------------------------

    def advance(self, report_id: int, *, max_steps: int = 500) -> str | None:
        """Take the report as far as it can go now; returns its state (None if another worker has it)."""
        with self._leased(report_id) as owner:
            if owner is None:
                return None
            try:
                for _ in range(max_steps):
                    if self._step(report_id, owner) == _STOP:
                        break
            finally:
                if self._client is not None:
                    self._client.close()
                    self._client = None
        with self.sessions() as session:
            report = session.get(NcmecReport, report_id)
            return report.state if report else None

    def watch(self, report_id: int) -> None:
        """The stall watch: flag a report NCMEC is about to delete unfinished, and wake its worker.

        The watch never re-creates a report itself: the worker does, after reconciling any
        interrupted call (an interrupted ``finish`` may have filed it) and only on proof.
        """
        with self._leased(report_id) as owner:
            if owner is None:  # a worker is on it: look again shortly
                with self.sessions() as session, session.begin():
                    timers.schedule(session, kind=WATCH_TASK, due_at=self.clock.now() + timedelta(minutes=1),
                                    clock=self.clock, subject=f"ncmec_report:{report_id}",
                                    payload={"report_id": report_id}, dedupe_key=f"ncmec:{report_id}:watch")
                return
            with self.sessions() as session:
                report = session.get(NcmecReport, report_id)
                if report is None or report.state not in (*IN_FLIGHT, ERROR) or report.ncmec_report_id is None:
                    return
                now, expiry = self.clock.now(), expires_at(report)
                assert expiry is not None
                warn = expiry - timedelta(minutes=int(get_value(session, "reports.stall_warning_minutes")))
                if now < warn:
                    _arm_watch(session, report, self.clock)
                    session.commit()
                    return
                if report.stalled_at is None:
                    report.stalled_at = now
                    report.attention = (f"Stalled: NCMEC report {report.ncmec_report_id} is unfinished and NCMEC "
                                        f"deletes it at {expiry:%Y-%m-%d %H:%M} UTC unless it is finished.")
                    _event(session, report, ACTOR, "stalled", self.clock, {"expires_at": expiry.isoformat()})
                if now < expiry + LOSS_MARGIN:
                    timers.schedule(session, kind=WATCH_TASK, due_at=expiry + LOSS_MARGIN, clock=self.clock,
                                    subject=f"ncmec_report:{report.id}", payload={"report_id": report.id},
                                    dedupe_key=f"ncmec:{report.id}:watch")
                elif report.state == ERROR:
                    report.attention = (f"NCMEC has most likely deleted report {report.ncmec_report_id} (unfinished "
                                        f"past {expiry:%Y-%m-%d %H:%M} UTC). Resume to file the report again.")
                if report.state != ERROR:
                    _wake(session, report, now, self.clock)
                session.commit()

    # -- one step ----------------------------------------------------------------------------------

    def _step(self, report_id: int, owner: str) -> str:
        with self.sessions() as session:
            report = session.get(NcmecReport, report_id, populate_existing=True)
            if report is None or report.lease_owner != owner[:100]:
                return _STOP
            now = self.clock.now()
            pending = list(session.scalars(select(NcmecApiCall).where(NcmecApiCall.report_id == report.id,
                                                                     NcmecApiCall.outcome == PENDING)))
            if pending:
                for call in pending:
                    self._reconcile(session, report, call)
                session.commit()
                return _CONTINUE
            if report.state == FINISHED:
                if report.recorded_at is None:
                    return self._record_finish(session, report)
                return _STOP
            if report.state not in (APPROVED, *IN_FLIGHT):
                return _STOP
            if report.retract_requested_by:
                if report.ncmec_report_id is None:
                    _mark_retracted(session, report, report.retract_requested_by, self.clock,
                                    {"reason": report.retract_reason})
                    session.commit()
                    return _STOP
                return self._retract(session, report, owner)
            expiry = expires_at(report)
            if (report.state in IN_FLIGHT and expiry is not None and now >= expiry + LOSS_MARGIN
                    and not self._finish_attempted(session, report)):
                self._recreate(session, report, f"NCMEC's deletion time {expiry:%Y-%m-%d %H:%M} UTC passed "
                                                "with the report unfinished")
                session.commit()
                return _CONTINUE
            if report.state == APPROVED:
                if report.resubmit_after is not None and now < report.resubmit_after:
                    return self._parked(session, report)
                return self._submit(session, report, owner)
            rows = files_of(session, report.id)
            if report.state == SUBMITTED:
                row = next((r for r in rows if not r.file_id), None)
                if row is None:
                    report.state, report.updated_at = FILES_UPLOADED, now
                    session.commit()
                    return _CONTINUE
                return self._upload(session, report, row, owner)
            if report.state == FILES_UPLOADED:
                row = next((r for r in rows if not r.fileinfo_sent), None)
                if row is None:
                    report.state, report.updated_at = FILE_DETAILS_SENT, now
                    session.commit()
                    return _CONTINUE
                return self._fileinfo(session, report, row, owner)
            problems = finish_problems(report, rows)
            if problems:
                self._fail(session, report, "finish", "Refused before finishing: " + " ".join(problems))
                session.commit()
                return _STOP
            return self._finish(session, report, owner)

    @staticmethod
    def _finish_attempted(session: Session, report: NcmecReport) -> bool:
        """A finish was sent for this NCMEC report: only NCMEC's answer can tell whether it is filed or gone."""
        return session.scalar(select(NcmecApiCall.id).where(
            NcmecApiCall.report_id == report.id, NcmecApiCall.operation == "finish",
            NcmecApiCall.ncmec_report_id == report.ncmec_report_id).limit(1)) is not None

    def _parked(self, session: Session, report: NcmecReport) -> str:
        if report.resubmit_after is not None and report.state == APPROVED:
            _wake(session, report, report.resubmit_after, self.clock)
            session.commit()
        return _STOP

    # -- the calls --------------------------------------------------------------------------------

    def _client_for(self, session: Session, report: NcmecReport) -> CyberTiplineClient | None:
        if self._client is None:
            factory: ClientFactory | None = self.services.get(CLIENT_FACTORY)
            if factory is None:
                report.attention = ("NCMEC is not configured: set BASTION_NCMEC_USERNAME and BASTION_NCMEC_PASSWORD "
                                    "(and BASTION_NCMEC_ENVIRONMENT / BASTION_NCMEC_BASE_URL). The report waits.")
                _wake(session, report, self.clock.now() + NOT_CONFIGURED_RETRY, self.clock)
                session.commit()
                return None
            self._client = factory()
        if report.environment and report.environment != self._client.environment.value:
            self._fail(session, report, "config",
                       f"NCMEC report {report.ncmec_report_id} is open in the {report.environment} environment but "
                       f"the worker is configured for {self._client.environment.value}; restore the configuration.")
            session.commit()
            return None
        return self._client

    def _intent(self, session: Session, report: NcmecReport, owner: str, operation: str,
                row: NcmecReportFile | None = None) -> NcmecApiCall | None:
        """Record the call about to be made, and commit: the intent is durable before anything leaves.

        The report row is updated on condition that nobody changed its state (or asked for a
        retraction) since this step read it; otherwise nothing is recorded, None is returned
        and the step is re-evaluated. A person's retraction and a worker's intent thus
        serialise on the report row.
        """
        now = self.clock.now()
        call = NcmecApiCall(report_id=report.id, file_row_id=row.id if row else None, operation=operation,
                            environment=report.environment, ncmec_report_id=report.ncmec_report_id,
                            file_id=(row.file_id or "") if row else "", worker=owner[:100], started_at=now,
                            outcome=PENDING)
        session.add(call)
        session.flush()
        unchanged = [NcmecReport.id == report.id, NcmecReport.lease_owner == owner[:100],
                     NcmecReport.state == report.state]
        if operation != "retract":
            unchanged.append(NcmecReport.retract_requested_by == "")
        claimed = session.execute(update(NcmecReport).where(*unchanged).values(lease_until=now + LEASE)
                                  .execution_options(synchronize_session=False))
        if claimed.rowcount != 1:
            session.rollback()
            return None
        session.commit()
        return call

    def _settle(self, session: Session, report: NcmecReport, owner: str, call: NcmecApiCall) -> bool:
        """Start the result transaction; False if another worker took the report meanwhile."""
        session.refresh(report)
        session.refresh(call)
        call.finished_at = self.clock.now()
        if report.lease_owner != owner[:100]:
            _event(session, report, ACTOR, "late_result", self.clock, {"call": call.id, "operation": call.operation})
            return False
        return True

    def _exchange(self, session: Session, report: NcmecReport, owner: str, operation: str, send: Callable[[], R],
                  done: Callable[[NcmecApiCall, R], str], *, row: NcmecReportFile | None = None,
                  record: Callable[[NcmecApiCall, R], None] | None = None) -> str:
        """One call to NCMEC: intent committed first, then the call, then its result and what it changes.

        `send` makes the call; `record` writes a successful reply onto the call row (by
        default: ok, its request id, "Success"); `done` applies it to the report, commits
        and says whether the worker goes on. A failed call goes to `_failed`. A reply that
        arrives after another worker took the report over is recorded and nothing else:
        the lease holder's view of the report is the one that counts.
        """
        call = self._intent(session, report, owner, operation, row)
        if call is None:
            return _CONTINUE
        try:
            result = send()
        except NcmecError as exc:
            return self._failed(session, report, owner, call, exc, row)
        settled = self._settle(session, report, owner, call)
        (record or _succeeded)(call, result)
        if not settled:
            session.commit()
            return _STOP
        return done(call, result)

    def _submit(self, session: Session, report: NcmecReport, owner: str) -> str:
        shown = preview(report)
        if not shown.valid:  # never sent: the schema check is the gate
            self._fail(session, report, "submit", f"The report does not pass the schema: {shown.problem}",
                       code=4100, element=shown.element)
            session.commit()
            return _STOP
        client = self._client_for(session, report)
        if client is None:
            return _STOP
        body = shown.xml.encode()
        report.environment = client.environment.value
        report.submitted_xml = shown.xml

        def record(call: NcmecApiCall, result: Any) -> None:
            call.outcome, call.ncmec_report_id, call.request_id = OK, result.report_id, result.request_id or ""

        return self._exchange(session, report, owner, "submit", lambda: client.submit(body),
                              lambda call, result: self._submitted(session, report, call, result), record=record)

    def _submitted(self, session: Session, report: NcmecReport, call: NcmecApiCall, result: Any) -> str:
        now = self.clock.now()
        call.description = "Success"
        if report.state != APPROVED and not report.retract_requested_by:
            # Retracted locally while the submit was in flight: NCMEC now holds it, so retract it there.
            report.retract_requested_by = ACTOR
            report.retract_reason = f"retracted in Bastion ({report.state}) while the submit was in flight"
        report.state, report.ncmec_report_id = SUBMITTED, result.report_id
        report.submitted_at = now
        report.resubmit_after = None
        self._progressed(report)
        _event(session, report, ACTOR, "submitted", self.clock,
               {"ncmec_report_id": result.report_id, "request_id": result.request_id})
        _arm_watch(session, report, self.clock)
        session.commit()
        return _CONTINUE

    def _upload(self, session: Session, report: NcmecReport, row: NcmecReportFile, owner: str) -> str:
        vault = self.services.get(VAULT_SERVICE)
        if vault is None or row.evidence_item_id is None:
            self._fail(session, report, "upload", "The evidence vault is not configured." if vault is None
                       else f"File {row.id} has no preserved media to upload.")
            session.commit()
            return _STOP
        client = self._client_for(session, report)
        if client is None:
            return _STOP
        assert report.ncmec_report_id is not None
        try:
            data = vault.open(session, row.evidence_item_id, actor=ACTOR,
                              reason=f"upload to CyberTipline report {report.ncmec_report_id}")
        except BastionError as exc:
            session.rollback()
            self._fail(session, report, "upload", f"Evidence item {row.evidence_item_id}: {exc.message}")
            session.commit()
            return _STOP
        ncmec_id, file_name, content_type = report.ncmec_report_id, row.file_name, row.content_type
        media = io.BytesIO(data)  # the custody record of this read commits with the intent
        del data

        def record(call: NcmecApiCall, result: Any) -> None:
            _succeeded(call, result)
            call.file_id = result.file_id

        return self._exchange(session, report, owner, "upload",
                              lambda: client.upload(ncmec_id, media, filename=file_name, content_type=content_type),
                              lambda call, result: self._uploaded(session, report, row, vault, ncmec_id, result),
                              row=row, record=record)

    def _uploaded(self, session: Session, report: NcmecReport, row: NcmecReportFile, vault: Any, ncmec_id: int,
                  result: Any) -> str:
        now = self.clock.now()
        session.refresh(row)
        row.file_id, row.md5, row.uploaded_at, row.fileinfo_sent = result.file_id, result.md5, now, False
        self._progressed(report)
        vault.record_disclosure(session, row.evidence_item_id, actor=ACTOR,
                                reason=f"uploaded to CyberTipline report {ncmec_id} (not yet finished)",
                                recipient=RECIPIENT, reference=f"report {ncmec_id} file {result.file_id}")
        if row.expected_md5 and row.expected_md5 != result.md5:
            _event(session, report, ACTOR, "md5_differs", self.clock,
                   {"file": row.id, "expected": row.expected_md5, "sent": result.md5})
        _arm_watch(session, report, self.clock)
        session.commit()
        return _CONTINUE

    def _fileinfo(self, session: Session, report: NcmecReport, row: NcmecReportFile, owner: str) -> str:
        assert report.ncmec_report_id is not None and row.file_id
        try:
            details = drafting.file_details(json.loads(row.details_json), report_id=report.ncmec_report_id,
                                            file_id=row.file_id)
            body = render(details)
        except (ValidationError, ReportValidationError) as exc:
            element = exc.element if isinstance(exc, ReportValidationError) else None
            self._fail(session, report, "fileinfo", f"File {row.id} details do not pass the schema: {exc}",
                       code=4100 if element else None, element=element)
            session.commit()
            return _STOP
        client = self._client_for(session, report)
        if client is None:
            return _STOP

        def described(call: NcmecApiCall, result: Any) -> str:
            session.refresh(row)
            row.fileinfo_sent, row.fileinfo_at = True, self.clock.now()
            self._progressed(report)
            _arm_watch(session, report, self.clock)
            session.commit()
            return _CONTINUE

        return self._exchange(session, report, owner, "fileinfo", lambda: client.fileinfo(body), described, row=row)

    def _finish(self, session: Session, report: NcmecReport, owner: str) -> str:
        client = self._client_for(session, report)
        if client is None:
            return _STOP
        assert report.ncmec_report_id is not None
        ncmec_id = report.ncmec_report_id

        def finished(call: NcmecApiCall, result: Any) -> str:
            self._mark_finished(session, report, list(result.file_ids), request_id=result.request_id)
            session.commit()
            return _CONTINUE

        return self._exchange(session, report, owner, "finish", lambda: client.finish(ncmec_id), finished)

    def _retract(self, session: Session, report: NcmecReport, owner: str) -> str:
        client = self._client_for(session, report)
        if client is None:
            return _STOP
        assert report.ncmec_report_id is not None
        ncmec_id = report.ncmec_report_id

        def retracted(call: NcmecApiCall, result: Any) -> str:
            _mark_retracted(session, report, report.retract_requested_by or ACTOR, self.clock,
                            {"reason": report.retract_reason, "request_id": result.request_id})
            session.commit()
            return _STOP

        return self._exchange(session, report, owner, "retract", lambda: client.retract(ncmec_id), retracted)

    # -- outcomes ---------------------------------------------------------------------------------

    def _mark_finished(self, session: Session, report: NcmecReport, file_ids: list[str] | None,
                       request_id: str | None = None, confirmed_by_5102: bool = False) -> None:
        now = self.clock.now()
        report.state, report.finished_at, report.updated_at = FINISHED, now, now
        report.resume_state, report.attention, report.failures, report.stalled_at = "", "", 0, None
        if file_ids is not None:
            report.ncmec_file_ids = json.dumps(file_ids)
            ours = {r.file_id for r in files_of(session, report.id) if r.file_id}
            extra = sorted(set(file_ids) - ours)
            if extra:
                report.attention = (f"NCMEC lists {len(extra)} file(s) Bastion did not describe "
                                    f"({', '.join(extra)}): most likely an upload repeated after a lost reply.")
                _event(session, report, ACTOR, "extra_files", self.clock, {"file_ids": extra})
        _event(session, report, ACTOR, "finished", self.clock,
               {"ncmec_report_id": report.ncmec_report_id, "request_id": request_id,
                "confirmed_by": "5102 on a repeated finish" if confirmed_by_5102 else "finish reply"})
        timers.cancel(session, subject=f"ncmec_report:{report.id}", kind=WATCH_TASK)

    def _record_finish(self, session: Session, report: NcmecReport) -> str:
        """Report id onto the case, disclosure into each item's custody, the 1-year preservation clock."""
        vault = self.services.get(VAULT_SERVICE)
        if vault is None:
            report.attention = "Filed, but the evidence vault is not configured: custody and retention are not recorded."
            _wake(session, report, self.clock.now() + NOT_CONFIGURED_RETRY, self.clock)
            session.commit()
            return _STOP
        ncmec_id, now = report.ncmec_report_id, self.clock.now()
        problems = []
        for row in files_of(session, report.id):
            if row.evidence_item_id is None:
                continue
            try:
                vault.record_disclosure(session, row.evidence_item_id, actor=ACTOR,
                                        reason=f"CyberTipline report {ncmec_id} filed with NCMEC",
                                        recipient=RECIPIENT, reference=str(ncmec_id))
                vault.apply_retention(session, row.evidence_item_id, RETENTION_POLICY, from_time=report.finished_at or now,
                                      actor=ACTOR, reason=f"18 U.S.C. 2258A: preserve the contents of CyberTipline "
                                                          f"report {ncmec_id} for one year")
            except BastionError as exc:
                problems.append(f"evidence {row.evidence_item_id}: {exc.message}")
        case = session.get(Case, report.case_id)
        if case is not None:
            case_event(session, case, ACTOR, "ncmec_reported", self.clock,
                       details={"report": report.id, "ncmec_report_id": ncmec_id, "environment": report.environment})
        if problems:
            report.attention = "Filed; recording failed for " + "; ".join(problems)
        report.recorded_at = now
        _event(session, report, ACTOR, "recorded", self.clock, {"problems": problems})
        session.commit()
        return _STOP

    def _recreate(self, session: Session, report: NcmecReport, why: str) -> None:
        """The report is gone at NCMEC (proven): start again with the same content and a new submit."""
        lost = json.loads(report.lost_report_ids) + [report.ncmec_report_id]
        report.lost_report_ids = json.dumps(lost)
        _event(session, report, ACTOR, "lost", self.clock, {"ncmec_report_id": report.ncmec_report_id, "why": why})
        for row in files_of(session, report.id):
            row.file_id, row.md5, row.uploaded_at, row.fileinfo_sent, row.fileinfo_at = None, "", None, False, None
        report.attention = (f"NCMEC report {report.ncmec_report_id} was lost ({why}); Bastion is filing the report "
                            "again.")
        report.ncmec_report_id, report.submitted_at, report.last_change_at, report.stalled_at = None, None, None, None
        report.generation += 1
        if report.state == ERROR:
            _clear_error(report)
            report.resume_state = ""
        report.state, report.failures, report.updated_at = APPROVED, 0, self.clock.now()
        timers.cancel(session, subject=f"ncmec_report:{report.id}", kind=WATCH_TASK)

    def _reconcile(self, session: Session, report: NcmecReport, call: NcmecApiCall) -> None:
        """A pending intent left by a dead worker: apply the rules in the module docstring."""
        now = self.clock.now()
        call.outcome, call.finished_at = INTERRUPTED, now
        call.description = "The worker stopped between recording this call and its result; outcome unknown."
        if call.ncmec_report_id is not None and call.ncmec_report_id == report.ncmec_report_id:
            report.last_change_at = now  # NCMEC may have seen a change up to now
        _event(session, report, ACTOR, "interrupted", self.clock, {"call": call.id, "operation": call.operation})
        self._uncertain(session, report, call)

    def _uncertain(self, session: Session, report: NcmecReport, call: NcmecApiCall) -> None:
        if call.operation == "submit" and report.state == APPROVED:
            report.resubmit_after = call.started_at + ORPHAN_GRACE
            report.attention = (
                "The outcome of submitting this report is unknown: NCMEC may have opened a report whose id Bastion "
                f"never learned. Bastion submits again at {report.resubmit_after:%Y-%m-%d %H:%M} UTC, when NCMEC has "
                "certainly deleted any such unfinished copy; a reviewer may confirm resubmitting sooner.")
            _event(session, report, ACTOR, "submit_uncertain", self.clock,
                   {"call": call.id, "resubmit_after": report.resubmit_after.isoformat()})
        elif call.operation == "upload":
            _event(session, report, ACTOR, "upload_uncertain", self.clock,
                   {"call": call.id, "file": call.file_row_id, "note": "uploading again; NCMEC may list it twice"})

    def _failed(self, session: Session, report: NcmecReport, owner: str, call: NcmecApiCall, exc: NcmecError,
                row: NcmecReportFile | None = None) -> str:
        """Record a failed call and react to it (see the module docstring)."""
        settled = self._settle(session, report, owner, call)
        call.response_code, call.http_status = exc.code, exc.http_status
        call.request_id, call.description = exc.request_id or "", str(exc.description)[:4000]
        uncertain = isinstance(exc, (NcmecUncertainError, NcmecProtocolError))
        sent = getattr(exc, "request_sent", True)
        call.outcome = (UNCERTAIN if sent else NOT_SENT) if uncertain else FAILED
        if not settled:
            session.commit()
            return _STOP
        if row is not None:
            session.refresh(row)
        now, op = self.clock.now(), call.operation
        if uncertain:
            if not sent:
                return self._retry_later(session, report)
            if report.ncmec_report_id is not None:
                report.last_change_at = now
                _arm_watch(session, report, self.clock)
            self._uncertain(session, report, call)
            if op == "submit" and report.resubmit_after is not None:
                _wake(session, report, report.resubmit_after, self.clock)
                session.commit()
                return _STOP
            return self._retry_later(session, report)
        if isinstance(exc, NcmecServerError):
            return self._retry_later(session, report)
        if isinstance(exc, ReportDoesNotExistError) and op != "submit":
            if op == "retract":
                _mark_retracted(session, report, report.retract_requested_by or ACTOR, self.clock,
                                {"reason": report.retract_reason, "note": "NCMEC no longer had the report (5001)"})
                session.commit()
                return _STOP
            self._recreate(session, report, f"NCMEC answered {exc.code} {exc.description!r} to {op}")
            session.commit()
            return _CONTINUE
        if isinstance(exc, FileDoesNotExistError) and row is not None:
            _event(session, report, ACTOR, "file_unknown", self.clock, {"file": row.id, "file_id": row.file_id})
            row.file_id, row.fileinfo_sent = None, False
            report.state = SUBMITTED
            session.commit()
            return _CONTINUE
        if isinstance(exc, ReportAlreadyFinishedError):
            self._mark_finished(session, report, None, request_id=exc.request_id, confirmed_by_5102=op == "finish")
            if op != "finish":
                report.attention = (f"NCMEC says report {report.ncmec_report_id} is already finished "
                                    f"(answer to {op}); it is filed as it was at that moment.")
            session.commit()
            return _CONTINUE
        if isinstance(exc, ReportAlreadyRetractedError):
            _mark_retracted(session, report, report.retract_requested_by or ACTOR, self.clock,
                            {"note": f"NCMEC says the report was retracted ({exc.code})"})
            if op != "retract":
                report.attention = "NCMEC says this report was retracted; Bastion did not ask for it."
            session.commit()
            return _STOP
        if isinstance(exc, UploadIntegrityError) and row is not None:
            row.file_id, row.md5 = exc.file_id, exc.received_md5
            self._fail(session, report, op, f"{exc}. Do not finish: retract the report and draft it again.",
                       request_id=exc.request_id)
            session.commit()
            return _STOP
        element = exc.element if isinstance(exc, ReportValidationError) else None
        text = str(exc.description)
        if isinstance(exc, NcmecAuthError):
            text += " Check the NCMEC credentials and environment."
        self._fail(session, report, op, text, code=exc.code, element=element, request_id=exc.request_id)
        session.commit()
        return _STOP

    def _progressed(self, report: NcmecReport) -> None:
        """A change NCMEC acknowledged: the report lives longer, and earlier warnings are stale."""
        now = self.clock.now()
        report.last_change_at = report.updated_at = now
        report.failures, report.stalled_at, report.attention = 0, None, ""

    def _retry_later(self, session: Session, report: NcmecReport) -> str:
        report.failures += 1
        delay = min(MAX_RETRY_DELAY, FIRST_RETRY_DELAY * 2 ** (report.failures - 1))
        _wake(session, report, self.clock.now() + delay, self.clock)
        session.commit()
        return _STOP

    def _fail(self, session: Session, report: NcmecReport, step: str, text: str, *, code: int | None = None,
              element: str | None = None, request_id: str | None = None) -> None:
        if report.state != ERROR:
            report.resume_state = report.state
        report.state, report.error_step, report.error_code = ERROR, step, code
        report.error_text, report.error_element = text[:4000], (element or "")[:200]
        report.error_request_id, report.updated_at = (request_id or "")[:100], self.clock.now()
        _event(session, report, ACTOR, "error", self.clock,
               {"step": step, "code": code, "text": text[:500], "element": element, "request_id": request_id})


def _succeeded(call: NcmecApiCall, result: Any) -> None:
    call.outcome, call.request_id, call.description = OK, result.request_id or "", "Success"


def finish_problems(report: NcmecReport, rows: list[NcmecReportFile]) -> list[str]:
    """What must hold before `finish`, which is irreversible; checked before any call."""
    problems = []
    if report.ncmec_report_id is None:
        problems.append("NCMEC has not opened the report.")
    if not rows:
        problems.append("The report has no file.")
    for row in rows:
        if not row.file_id:
            problems.append(f"File {row.id} is not uploaded.")
        elif not row.fileinfo_sent:
            problems.append(f"File {row.id} is not described (fileinfo).")
    return problems
