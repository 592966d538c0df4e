"""A decision reversed on appeal, and the statement of reasons the Transparency Database holds about it.

What the database's API allows (its API documentation and its published routes, checked 2026-12,
`digital-services-act/transparency-database`, routes/api_v1.php): platforms may create statements
(one, or up to 100 per call), read one back by uuid, and look a puid up. There is no route to
update or delete a statement, and a puid may never be reused. So:

* A statement not yet in the database (pending, held or refused) is amended before it is sent:
  each restriction it reports gets its documented end date (`end_date_*_restriction`, "the date
  that the decision ends") set to the day of the reversal. That is true, and the API accepts it.
* A statement already submitted stays as filed: Bastion files no second statement (a statement of
  reasons reports a restriction, and a reversal is not one; a new entry would count a decision
  that never happened). The row records the reversal, the case shows it, and the audit log has it;
  the reversal itself is counted in the transparency report's internal-complaint figures (Art. 20).

Appeals sit on the same layer as this package, so they never call it: the `dsa.submit` timer reads
the case's `appeal_reversed` event on each run, as it reads new notices.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.cases.models import Case, CaseEvent
from bastion.cases.service import _event as case_event
from bastion.clock import Clock
from bastion.dsa.models import DsaStatement

ACTOR = "system:dsa"
CASE_EVENT = "dsa_reversal_recorded"
#: Each restriction the API reports, and the field that says when it ended.
END_DATE_OF = {"decision_visibility": "end_date_visibility_restriction",
               "decision_monetary": "end_date_monetary_restriction",
               "decision_provision": "end_date_service_restriction",
               "decision_account": "end_date_account_restriction"}
NOT_AMENDABLE = ("The DSA Transparency Database has no route to update a statement once submitted (create, read and "
                 "puid look-up only), so statement {uuid} stays as filed; the reversal is counted with the appeals "
                 "(Art. 20) in the transparency report.")


def end_dates(payload: dict[str, Any], day: str) -> dict[str, Any]:
    """The payload with every reported restriction ending on `day` (ISO date), never before it began."""
    amended = dict(payload)
    start = str(payload.get("application_date", "")) or day
    for decision, field in END_DATE_OF.items():
        if payload.get(decision):
            amended[field] = max(day, start)
    return amended


def apply(session: Session, clock: Clock, *, limit: int = 500) -> list[DsaStatement]:
    """Deal once with every statement whose case was reversed on appeal; returns the rows dealt with."""
    found = session.execute(
        select(DsaStatement, CaseEvent).join(CaseEvent, CaseEvent.case_id == DsaStatement.case_id)
        .where(CaseEvent.kind == "appeal_reversed", DsaStatement.reversal_ref == "")
        .order_by(DsaStatement.id, CaseEvent.id.desc()).limit(limit)).all()
    rows: list[DsaStatement] = []
    for row, event in found:
        if row in rows:
            continue  # the latest reversal of its case came first
        rows.append(row)
        appeal = str(json.loads(event.details or "{}").get("appeal", "")) or "appeal"
        row.reversal_ref, row.reversed_at = appeal[:32], event.at
        if row.status == "submitted":
            row.reversal_note = NOT_AMENDABLE.format(uuid=row.uuid or row.puid)
            amended = False
        else:
            row.payload = end_dates(dict(row.payload), event.at.date().isoformat())
            row.reversal_note = (f"Reversed by {appeal} before filing: each restriction it reports ends on "
                                 f"{event.at.date().isoformat()}.")
            amended = True
        audit.record(session, actor=ACTOR, action="dsa.statement.reversal", subject=f"case:{row.case_id}", clock=clock,
                     details={"puid": row.puid, "uuid": row.uuid, "status": row.status, "appeal": appeal,
                              "amended": amended, "note": row.reversal_note})
        case = session.get(Case, row.case_id)
        if case is not None:
            case_event(session, case, ACTOR, CASE_EVENT, clock,
                       details={"puid": row.puid, "appeal": appeal, "amended": amended, "todo": row.reversal_note})
    session.flush()
    return rows
