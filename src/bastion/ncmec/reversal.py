"""A reversal on appeal meets a CyberTipline report that was already filed: record it, and say what is owed.

NCMEC's reporting API has no way to amend a report once `/finish` has filed it (a report can be
retracted only while it is still open), and Bastion knows of no documented "supplemental report"
call. So nothing is sent: the reversal is written on the report's timeline and on the case, the
report is flagged for staff, and the flag says that NCMEC must be told through the contact NCMEC
gave the platform, quoting the report id. A report not yet finished is flagged too: staff decide
whether to retract it on its page (a reversal may or may not mean it should not be filed).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.cases.models import Case
from bastion.cases.service import _event as case_event
from bastion.clock import Clock
from bastion.ncmec.reports import record_event
from bastion.ncmec.tables import FINISHED, RETRACTED, NcmecReport

#: The case event that puts the follow-up on the case page.
CASE_EVENT = "ncmec_reversal_followup"


def followup_text(report: NcmecReport, appeal_reference: str) -> str:
    if report.state == FINISHED:
        return (f"Appeal {appeal_reference} reversed this decision after CyberTipline report "
                f"{report.ncmec_report_id} was filed. NCMEC's API cannot amend a finished report: tell NCMEC of the "
                f"reversal through the contact NCMEC gave the platform, quoting report {report.ncmec_report_id}, and "
                "record that it was done.")
    return (f"Appeal {appeal_reference} reversed this decision before the CyberTipline report was filed (it is "
            f"{report.state}): decide on the report's page whether to retract it.")


def record_reversal(session: Session, case: Case, *, appeal_reference: str, actor: str, clock: Clock) -> list[str]:
    """Flag every live report of the case with the reversal; returns what staff must do, one line each."""
    todo: list[str] = []
    for report in session.scalars(select(NcmecReport).where(NcmecReport.case_id == case.id,
                                                            NcmecReport.state != RETRACTED)
                                  .order_by(NcmecReport.id)):
        text = followup_text(report, appeal_reference)
        report.attention = text
        record_event(session, report, actor, "reversed_on_appeal", clock,
                     details={"appeal": appeal_reference, "amendable": False, "todo": text})
        case_event(session, case, actor, CASE_EVENT, clock,
                   details={"report": report.id, "ncmec_report_id": report.ncmec_report_id,
                            "appeal": appeal_reference, "todo": text})
        todo.append(text)
    return todo
