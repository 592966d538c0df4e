"""The worker that files approved CyberTipline reports, one leased report at a time.

It records every call to NCMEC as an intent before the request leaves, then its
result (`Worker._exchange`); reconciles what a dead worker left behind; and
re-creates a report only on proof that NCMEC deleted it. The rules are in
`bastion.ncmec.lifecycle`'s docstring.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bastion import timers
from bastion.cases.models import Case
from bastion.cases.service import _event as case_event
from bastion.clock import Clock
from bastion.errors import BastionError
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
from bastion.ncmec.reports import (
    ACTOR,
    CLIENT_FACTORY,
    FIRST_RETRY_DELAY,
    LEASE,
    LEASE_SERVICE,
    LOSS_MARGIN,
    MAX_RETRY_DELAY,
    NOT_CONFIGURED_RETRY,
    ORPHAN_GRACE,
    RECIPIENT,
    RETENTION_POLICY,
    VAULT_SERVICE,
    WATCH_TASK,
    ClientFactory,
    arm_watch,
    clear_error,
    expires_at,
    files_of,
    mark_retracted,
    preview,
    record_event,
    wake,
)
from bastion.ncmec.tables import (
    APPROVED,
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
    SUBMITTED,
    UNCERTAIN,
    NcmecApiCall,
    NcmecReport,
    NcmecReportFile,
)
from bastion.ncmec.xml import render
from bastion.orgsettings import get_value

R = TypeVar("R")

# -- the worker ------------------------------------------------------------------------------------

_CONTINUE, _STOP = "continue", "stop"

#: Who asks NCMEC to discard an unfinished report whose files Bastion can no longer account for.
REFILE = "system:ncmec.refile"


class Worker:
    """Drives approved reports through submit, upload, fileinfo and finish."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, services: dict[str, Any]) -> None:
        self.sessions, self.clock, self.services = sessions, clock, services
        self._client: CyberTiplineClient | None = None
        self.lease: timedelta = services.get(LEASE_SERVICE, LEASE)

    # -- leasing ---------------------------------------------------------------------------------

    def _claim(self, report_id: int, owner: str) -> bool:
        now = self.clock.now()
        with self.sessions() as session, session.begin():
            result = session.execute(
                update(NcmecReport)
                .where(NcmecReport.id == report_id,
                       or_(NcmecReport.lease_until.is_(None), NcmecReport.lease_until <= now))
                .values(lease_owner=owner[:100], lease_until=now + self.lease)
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
                    arm_watch(session, report, self.clock)
                    session.commit()
                    return
                if report.stalled_at is None:
                    report.stalled_at = now
                    report.attention = (f"Stalled: NCMEC report {report.ncmec_report_id} is unfinished and NCMEC "
                                        f"deletes it at {expiry:%Y-%m-%d %H:%M} UTC unless it is finished.")
                    record_event(session, report, ACTOR, "stalled", self.clock, {"expires_at": expiry.isoformat()})
                if now < expiry + LOSS_MARGIN:
                    timers.schedule(session, kind=WATCH_TASK, due_at=expiry + LOSS_MARGIN, clock=self.clock,
                                    subject=f"ncmec_report:{report.id}", payload={"report_id": report.id},
                                    dedupe_key=f"ncmec:{report.id}:watch")
                elif report.state == ERROR:
                    report.attention = (f"NCMEC has most likely deleted report {report.ncmec_report_id} (unfinished "
                                        f"past {expiry:%Y-%m-%d %H:%M} UTC). Resume to file the report again.")
                if report.state != ERROR:
                    wake(session, report, now, self.clock)
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
                    mark_retracted(session, report, report.retract_requested_by, self.clock,
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
            per_file = {  # every file is uploaded, then every file is described
                SUBMITTED: (lambda r: not r.file_id, FILES_UPLOADED, self._upload),
                FILES_UPLOADED: (lambda r: not r.fileinfo_sent, FILE_DETAILS_SENT, self._fileinfo),
            }
            if report.state in per_file:
                undone, then, call = per_file[report.state]
                row = next((r for r in rows if undone(r)), None)
                if row is None:
                    report.state, report.updated_at = then, now
                    session.commit()
                    return _CONTINUE
                return call(session, report, row, owner)
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
            wake(session, report, report.resubmit_after, self.clock)
            session.commit()
        return _STOP

    # -- the calls --------------------------------------------------------------------------------

    def _client_for(self, session: Session, report: NcmecReport) -> CyberTiplineClient | None:
        if self._client is None:
            factory: ClientFactory | None = self.services.get(CLIENT_FACTORY)
            if factory is None:
                report.attention = ("NCMEC is not configured: set BASTION_NCMEC_USERNAME and BASTION_NCMEC_PASSWORD "
                                    "(and BASTION_NCMEC_ENVIRONMENT / BASTION_NCMEC_BASE_URL). The report waits.")
                wake(session, report, self.clock.now() + NOT_CONFIGURED_RETRY, self.clock)
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
        claimed = session.execute(update(NcmecReport).where(*unchanged).values(lease_until=now + self.lease)
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
            record_event(session, report, ACTOR, "late_result", self.clock, {"call": call.id, "operation": call.operation})
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
        record_event(session, report, ACTOR, "submitted", self.clock,
               {"ncmec_report_id": result.report_id, "request_id": result.request_id})
        arm_watch(session, report, self.clock)
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
        try:  # streamed: a video is decrypted chunk by chunk into the request body, never whole in memory
            media = vault.open_stream(session, row.evidence_item_id, actor=ACTOR,
                                      reason=f"upload to CyberTipline report {report.ncmec_report_id}")
        except BastionError as exc:
            session.rollback()
            self._fail(session, report, "upload", f"Evidence item {row.evidence_item_id}: {exc.message}")
            session.commit()
            return _STOP
        ncmec_id, file_name, content_type = report.ncmec_report_id, row.file_name, row.content_type
        # the custody record of this read commits with the intent

        def send() -> Any:
            return client.upload(ncmec_id, media, filename=file_name, content_type=content_type)

        def record(call: NcmecApiCall, result: Any) -> None:
            _succeeded(call, result)
            call.file_id = result.file_id

        try:
            return self._exchange(session, report, owner, "upload",
                                  send,
                                  lambda call, result: self._uploaded(session, report, row, vault, ncmec_id, result),
                                  row=row, record=record)
        finally:
            media.close()

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
            record_event(session, report, ACTOR, "md5_differs", self.clock,
                   {"file": row.id, "expected": row.expected_md5, "sent": result.md5})
        arm_watch(session, report, self.clock)
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
            arm_watch(session, report, self.clock)
            session.commit()
            return _CONTINUE

        return self._exchange(session, report, owner, "fileinfo", lambda: client.fileinfo(body), described, row=row)

    def _finish(self, session: Session, report: NcmecReport, owner: str) -> str:
        def finished(call: NcmecApiCall, result: Any) -> str:
            self._mark_finished(session, report, list(result.file_ids), request_id=result.request_id)
            session.commit()
            return _CONTINUE

        return self._about_open_report(session, report, owner, "finish",
                                       lambda client, ncmec_id: client.finish(ncmec_id), finished)

    def _refile(self, session: Session, report: NcmecReport, why: str) -> str:
        """The unfinished copy at NCMEC is discarded (or gone): file the same report again, from scratch."""
        discarded = report.ncmec_report_id
        report.retract_requested_by, report.retract_reason = "", ""
        self._recreate(session, report, why)
        report.attention = (f"Unfinished NCMEC report {discarded} was retracted after a lost reply; Bastion is filing "
                            "the report again.")
        session.commit()
        return _CONTINUE

    def _retract(self, session: Session, report: NcmecReport, owner: str) -> str:
        def retracted(call: NcmecApiCall, result: Any) -> str:
            if report.retract_requested_by == REFILE:
                return self._refile(session, report, f"retracted after a lost reply ({report.retract_reason})")
            mark_retracted(session, report, report.retract_requested_by or ACTOR, self.clock,
                           {"reason": report.retract_reason, "request_id": result.request_id})
            session.commit()
            return _STOP

        return self._about_open_report(session, report, owner, "retract",
                                       lambda client, ncmec_id: client.retract(ncmec_id), retracted)

    def _about_open_report(self, session: Session, report: NcmecReport, owner: str, operation: str,
                           send: Callable[[CyberTiplineClient, int], R], done: Callable[[NcmecApiCall, R], str]
                           ) -> str:
        """`finish` or `retract`: a call naming the report NCMEC opened, and nothing else."""
        client = self._client_for(session, report)
        if client is None:
            return _STOP
        ncmec_id = report.ncmec_report_id
        assert ncmec_id is not None
        return self._exchange(session, report, owner, operation, lambda: send(client, ncmec_id), done)

    # -- outcomes ---------------------------------------------------------------------------------

    def _mark_finished(self, session: Session, report: NcmecReport, file_ids: list[str] | None,
                       request_id: str | None = None, confirmed_by_5102: bool = False) -> None:
        now = self.clock.now()
        report.state, report.finished_at, report.updated_at = FINISHED, now, now
        report.resume_state, report.attention, report.failures, report.stalled_at = "", "", 0, None
        if file_ids is None and confirmed_by_5102:
            # The finish receipt was lost and NCMEC confirmed the filing by refusing a second finish:
            # the files filed are the ones Bastion uploaded and described (it sends nothing else).
            file_ids = [r.file_id for r in files_of(session, report.id) if r.file_id and r.fileinfo_sent]
            record_event(session, report, ACTOR, "files_from_own_record", self.clock, {"file_ids": file_ids})
        if file_ids is not None:
            report.ncmec_file_ids = json.dumps(file_ids)
            ours = {r.file_id for r in files_of(session, report.id) if r.file_id}
            extra = sorted(set(file_ids) - ours)
            if extra:
                report.attention = (f"NCMEC lists {len(extra)} file(s) Bastion did not describe "
                                    f"({', '.join(extra)}): most likely an upload repeated after a lost reply.")
                record_event(session, report, ACTOR, "extra_files", self.clock, {"file_ids": extra})
        record_event(session, report, ACTOR, "finished", self.clock,
               {"ncmec_report_id": report.ncmec_report_id, "request_id": request_id,
                "confirmed_by": "5102 on a repeated finish" if confirmed_by_5102 else "finish reply"})
        timers.cancel(session, subject=f"ncmec_report:{report.id}", kind=WATCH_TASK)

    def _record_finish(self, session: Session, report: NcmecReport) -> str:
        """Report id onto the case, disclosure into each item's custody, the 1-year preservation clock."""
        vault = self.services.get(VAULT_SERVICE)
        if vault is None:
            report.attention = "Filed, but the evidence vault is not configured: custody and retention are not recorded."
            wake(session, report, self.clock.now() + NOT_CONFIGURED_RETRY, self.clock)
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
        record_event(session, report, ACTOR, "recorded", self.clock, {"problems": problems})
        session.commit()
        return _STOP

    def _recreate(self, session: Session, report: NcmecReport, why: str) -> None:
        """The report is gone at NCMEC (proven): start again with the same content and a new submit."""
        lost = json.loads(report.lost_report_ids) + [report.ncmec_report_id]
        report.lost_report_ids = json.dumps(lost)
        record_event(session, report, ACTOR, "lost", self.clock, {"ncmec_report_id": report.ncmec_report_id, "why": why})
        for row in files_of(session, report.id):
            row.file_id, row.md5, row.uploaded_at, row.fileinfo_sent, row.fileinfo_at = None, "", None, False, None
        report.attention = (f"NCMEC report {report.ncmec_report_id} was lost ({why}); Bastion is filing the report "
                            "again.")
        report.ncmec_report_id, report.submitted_at, report.last_change_at, report.stalled_at = None, None, None, None
        report.generation += 1
        if report.state == ERROR:
            clear_error(report)
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
        record_event(session, report, ACTOR, "interrupted", self.clock, {"call": call.id, "operation": call.operation})
        self._uncertain(session, report, call)

    def _uncertain(self, session: Session, report: NcmecReport, call: NcmecApiCall) -> None:
        if call.operation == "submit" and report.state == APPROVED:
            report.resubmit_after = call.started_at + ORPHAN_GRACE
            report.attention = (
                "The outcome of submitting this report is unknown: NCMEC may have opened a report whose id Bastion "
                f"never learned. Bastion submits again at {report.resubmit_after:%Y-%m-%d %H:%M} UTC, when NCMEC has "
                "certainly deleted any such unfinished copy; a reviewer may confirm resubmitting sooner.")
            record_event(session, report, ACTOR, "submit_uncertain", self.clock,
                   {"call": call.id, "resubmit_after": report.resubmit_after.isoformat()})
        elif call.operation in ("upload", "fileinfo") and report.ncmec_report_id is not None \
                and not report.retract_requested_by:
            # NCMEC has no call that lists a report's files. Sending again could leave a second copy
            # without details (upload) or details twice (fileinfo); not sending could leave a file
            # undescribed. An unfinished report is not filed yet: retract it, and file afresh.
            report.retract_requested_by = REFILE
            report.retract_reason = (f"the reply to {call.operation} (file row {call.file_row_id}) was lost: NCMEC's "
                                     "copy of this unfinished report can no longer be accounted for")
            report.attention = (f"The reply to a {call.operation} call was lost. Bastion retracts unfinished NCMEC "
                                f"report {report.ncmec_report_id} and files the report again, so that no file is "
                                "sent twice and none goes undescribed.")
            record_event(session, report, ACTOR, f"{call.operation}_uncertain", self.clock,
                         {"call": call.id, "file": call.file_row_id, "then": "retract the unfinished report and refile"})

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
                arm_watch(session, report, self.clock)
            self._uncertain(session, report, call)
            if op == "submit" and report.resubmit_after is not None:
                wake(session, report, report.resubmit_after, self.clock)
                session.commit()
                return _STOP
            return self._retry_later(session, report)
        if isinstance(exc, NcmecServerError):
            return self._retry_later(session, report)
        if isinstance(exc, ReportDoesNotExistError) and op != "submit":
            if op == "retract" and report.retract_requested_by == REFILE:
                return self._refile(session, report, "NCMEC no longer had the unfinished report (5001)")
            if op == "retract":
                mark_retracted(session, report, report.retract_requested_by or ACTOR, self.clock,
                                {"reason": report.retract_reason, "note": "NCMEC no longer had the report (5001)"})
                session.commit()
                return _STOP
            self._recreate(session, report, f"NCMEC answered {exc.code} {exc.description!r} to {op}")
            session.commit()
            return _CONTINUE
        if isinstance(exc, FileDoesNotExistError) and row is not None:
            record_event(session, report, ACTOR, "file_unknown", self.clock, {"file": row.id, "file_id": row.file_id})
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
            mark_retracted(session, report, report.retract_requested_by or ACTOR, self.clock,
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
        wake(session, report, self.clock.now() + delay, self.clock)
        session.commit()
        return _STOP

    def _fail(self, session: Session, report: NcmecReport, step: str, text: str, *, code: int | None = None,
              element: str | None = None, request_id: str | None = None) -> None:
        if report.state != ERROR:
            report.resume_state = report.state
        report.state, report.error_step, report.error_code = ERROR, step, code
        report.error_text, report.error_element = text[:4000], (element or "")[:200]
        report.error_request_id, report.updated_at = (request_id or "")[:100], self.clock.now()
        record_event(session, report, ACTOR, "error", self.clock,
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
