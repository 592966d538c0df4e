"""Issue 14: a reversal on appeal meets what was already filed. A CyberTipline report cannot be amended
after /finish, so it is flagged for staff on the report and the case page; a DSA statement not yet filed
gets its documented end dates, and one already submitted (the API has no update route) is recorded as such."""

from __future__ import annotations

import json
from datetime import timedelta
from types import SimpleNamespace

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.appeals import service as appeals
from bastion.appeals.models import Appeal
from bastion.audit.models import AuditRecord
from bastion.auth.roles import Role
from bastion.cases.models import Case, CaseEvent
from bastion.cases.service import _event as case_event
from bastion.clock import ManualClock
from bastion.dsa import reversals, schema
from bastion.dsa.models import DsaStatement
from bastion.ncmec.tables import FINISHED, RETRACTED, NcmecReport, NcmecReportEvent
from tests.conftest import api_login


def _case(db: Session, clock: ManualClock) -> Case:
    now = clock.now()
    case = Case(account_id="acct-1001", status="actioned", opened_at=now, updated_at=now, classification="A1")
    db.add(case)
    db.flush()
    return case


def _report(db: Session, case: Case, clock: ManualClock, state: str, ncmec_id: int | None) -> NcmecReport:
    report = NcmecReport(case_id=case.id, state=state, document_json="{}", drafted_by="r", drafted_at=clock.now(),
                         updated_at=clock.now(), ncmec_report_id=ncmec_id)
    db.add(report)
    db.flush()
    return report


def _appeal(db: Session, case: Case, clock: ManualClock) -> Appeal:
    appeal = Appeal(reference="AP-2026-000007", case_id=case.id, account_id=case.account_id, jurisdiction="EU",
                    submitted_by="platform", status="decided", received_at=clock.now(),
                    due_at=clock.now() + timedelta(days=15))
    db.add(appeal)
    db.flush()
    return appeal


def test_a_reversal_flags_a_filed_cybertipline_report_and_the_case_page_says_what_is_owed(
        app, db: Session, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    case = _case(db, clock)
    filed = _report(db, case, clock, FINISHED, 9100042)
    gone = _report(db, case, clock, RETRACTED, 9100041)
    appeal = _appeal(db, case, clock)
    appeals.reverse(db, appeal, case, SimpleNamespace(username="lead"), clock)  # type: ignore[arg-type]
    db.commit()
    assert "cannot amend" in filed.attention and "9100042" in filed.attention and appeal.reference in filed.attention
    assert gone.attention == ""  # a retracted report is not NCMEC's to hear about
    events = db.scalars(select(NcmecReportEvent).where(NcmecReportEvent.report_id == filed.id)).all()
    assert [e.kind for e in events] == ["reversed_on_appeal"]
    assert json.loads(events[0].details)["amendable"] is False
    assert db.scalar(select(AuditRecord).where(AuditRecord.action == "ncmec.report.reversed_on_appeal",
                                               AuditRecord.subject == f"ncmec_report:{filed.id}")) is not None
    browser = TestClient(app)
    api_login(browser, user_factory(Role.LEAD), clock)
    page = browser.get(f"/cases/{case.id}").text
    assert 'id="reversal-followups"' in page and "CyberTipline report" in page and "9100042" in page
    assert "9100041" not in page


def test_a_reversal_amends_a_dsa_statement_not_yet_filed_and_records_one_the_database_already_holds(
        db: Session, clock: ManualClock) -> None:
    case = _case(db, clock)
    base = {"decision_account": "DECISION_ACCOUNT_SUSPENDED", "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
            "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT", "illegal_content_legal_ground": "18 U.S.C. 2256",
            "illegal_content_explanation": "Matched known material, confirmed by review.",
            "category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS", "content_type": ["CONTENT_TYPE_IMAGE"],
            "territorial_scope": ["DE"], "content_date": "2026-01-01", "application_date": clock.now().date().isoformat(),
            "decision_facts": "One post matched.", "source_type": "SOURCE_VOLUNTARY", "automated_detection": "Yes",
            "automated_decision": "AUTOMATED_DECISION_PARTIALLY"}
    submitted = DsaStatement(notice_id=1, case_id=case.id, puid="bastion-SOR-1", category=base["category"],
                             status="submitted", uuid="0b7c-uuid", payload={**base, "puid": "bastion-SOR-1"},
                             created_at=clock.now())
    pending = DsaStatement(notice_id=2, case_id=case.id, puid="bastion-SOR-2", category=base["category"],
                           status="pending", payload={**base, "puid": "bastion-SOR-2"}, created_at=clock.now())
    untouched = DsaStatement(notice_id=3, case_id=None, puid="bastion-SOR-3", category=base["category"],
                             status="pending", payload={**base, "puid": "bastion-SOR-3"}, created_at=clock.now())
    db.add_all([submitted, pending, untouched])
    db.flush()
    assert reversals.apply(db, clock) == []  # nothing reversed yet
    clock.advance(timedelta(days=3))
    case_event(db, case, "lead", "appeal_reversed", clock, details={"appeal": "AP-2026-000008"})
    dealt = reversals.apply(db, clock)
    db.commit()
    assert {r.puid for r in dealt} == {"bastion-SOR-1", "bastion-SOR-2"}
    assert submitted.payload == {**base, "puid": "bastion-SOR-1"}  # the database's copy cannot be updated
    assert submitted.reversal_ref == "AP-2026-000008" and "no route to update" in submitted.reversal_note
    assert "0b7c-uuid" in submitted.reversal_note
    day = clock.now().date().isoformat()
    assert pending.payload["end_date_account_restriction"] == day
    assert pending.payload["end_date_visibility_restriction"] == day
    assert "end_date_service_restriction" not in pending.payload  # no such restriction was reported
    assert schema.validate(pending.payload) == {}  # still a statement the API accepts
    assert untouched.reversal_ref == "" and "end_date_account_restriction" not in untouched.payload
    assert reversals.apply(db, clock) == []  # once only
    audits = db.scalars(select(AuditRecord).where(AuditRecord.action == "dsa.statement.reversal")).all()
    assert sorted(json.loads(a.details)["amended"] if isinstance(a.details, str) else a.details["amended"]
                  for a in audits) == [False, True]
    kinds = [e.kind for e in db.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert kinds.count(reversals.CASE_EVENT) == 2
