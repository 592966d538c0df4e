"""A CyberTipline report as Bastion keeps it: constants, errors, reading it, and the steps every writer shares.

People's actions (`review`) and the worker that files reports (`worker`) both record
events on a report, wake its worker and arm its stall watch through the functions at
the end of this module. `lifecycle` describes the whole state machine.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lxml import etree
from pydantic import ValidationError
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from bastion import audit, timers
from bastion.cases.models import Case, CaseEvent
from bastion.cases.service import _event as case_event
from bastion.clock import Clock
from bastion.db.keyset import Page, newest_first, page_size
from bastion.errors import BastionError, Conflict, InvalidInput, NotFound
from bastion.ncmec import draft as drafting
from bastion.ncmec.client import CyberTiplineClient
from bastion.ncmec.errors import (
    ReportValidationError,
)
from bastion.ncmec.model import Report
from bastion.ncmec.tables import (
    RETRACTED,
    STATES,
    NcmecApiCall,
    NcmecReport,
    NcmecReportEvent,
    NcmecReportFile,
)
from bastion.ncmec.xml import render, to_element
from bastion.orgsettings import get_value

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
#: A worker's hold on a report; far longer than any single call. The default of
#: `Settings.ncmec_lease_seconds`; a worker reads its own from `services[LEASE_SERVICE]`.
LEASE = timedelta(minutes=30)
#: services key: this instance's report lease (a `timedelta`), wired from the settings.
LEASE_SERVICE = "ncmec.lease"
MAX_RETRY_DELAY = timedelta(hours=1)
FIRST_RETRY_DELAY = timedelta(seconds=30)
NOT_CONFIGURED_RETRY = timedelta(minutes=15)

ClientFactory = Callable[[], CyberTiplineClient]


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


def report_page(session: Session, *, state: str = "", search: str = "", case_id: int | None = None,
                cursor: str | None = None, limit: int | None = None) -> Page[NcmecReport]:
    """Reports newest first, one keyset page, with no cap on how far one may page.

    `search` is a number: a report's own number, its case's, or NCMEC's report id; each is
    an indexed equality, so no search scans the table.
    """
    size = page_size(limit)
    query = select(NcmecReport)
    if state:
        if state not in STATES:
            raise InvalidInput(f"There is no report state {state!r}; pick one from the list.")
        query = query.where(NcmecReport.state == state)
    if case_id is not None:
        query = query.where(NcmecReport.case_id == case_id)
    term = search.strip().lstrip("#")
    if term:
        if not term.isdigit() or len(term) > 18:
            raise InvalidInput("Search reports by a number: the report's, its case's, or NCMEC's report id.")
        number = int(term)
        query = query.where(or_(NcmecReport.id == number, NcmecReport.case_id == number,
                                NcmecReport.ncmec_report_id == number))
    return newest_first(session, query, NcmecReport.id, cursor=cursor, size=size)


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



# -- steps shared by people's actions and the worker ---------------------------------------------


def record_event(session: Session, report: NcmecReport, actor: str, kind: str, clock: Clock,
           details: dict[str, Any] | None = None) -> None:
    session.add(NcmecReportEvent(report_id=report.id, at=clock.now(), actor=actor[:200], kind=kind[:32],
                                 details=json.dumps(details or {}, default=str)))
    audit.record(session, actor=actor, action=f"ncmec.report.{kind}", subject=f"ncmec_report:{report.id}",
                 details={"case": report.case_id, "state": report.state, "ncmec_report_id": report.ncmec_report_id,
                          **(details or {})}, clock=clock)


def wake(session: Session, report: NcmecReport, at: datetime, clock: Clock) -> None:
    """Have the ticker run the worker for this report at `at` (one timer per report)."""
    timers.schedule(session, kind=ADVANCE_TASK, due_at=at, clock=clock, subject=f"ncmec_report:{report.id}",
                    payload={"report_id": report.id}, dedupe_key=f"ncmec:{report.id}:advance")


def arm_watch(session: Session, report: NcmecReport, clock: Clock) -> None:
    """Move the stall watch to `stall_warning_minutes` before NCMEC's deletion of this open report."""
    expiry = expires_at(report)
    if expiry is None:
        return
    warn = expiry - timedelta(minutes=int(get_value(session, "reports.stall_warning_minutes")))
    timers.schedule(session, kind=WATCH_TASK, due_at=max(warn, clock.now()), clock=clock,
                    subject=f"ncmec_report:{report.id}", payload={"report_id": report.id},
                    dedupe_key=f"ncmec:{report.id}:watch")


def mark_retracted(session: Session, report: NcmecReport, actor: str, clock: Clock,
                    details: dict[str, Any] | None = None) -> None:
    report.state, report.open_key, report.retracted_at = RETRACTED, None, clock.now()
    report.resume_state, report.resubmit_after, report.updated_at = "", None, clock.now()
    record_event(session, report, actor, "retracted", clock, details)
    case = session.get(Case, report.case_id)
    if case is not None:
        case_event(session, case, actor, "report_retracted", clock,
                   details={"report": report.id, "ncmec_report_id": report.ncmec_report_id})


def clear_error(report: NcmecReport) -> None:
    report.error_step, report.error_code, report.error_text = "", None, ""
    report.error_element, report.error_request_id = "", ""
