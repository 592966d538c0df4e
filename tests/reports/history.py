"""A known history over three months (September to November 2026), for exact figures in every report.

Detection, review, enforcement and CyberTipline records are written as rows (the reports read
those tables, whatever wrote them); legal requests go through the desk's own intake with the
injected clock, then get their answers. Every id, content id, account and officer name here is
marked "secret" so tests can check that none reaches a report.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bastion.actions.models import OutboxAction
from bastion.cases.models import Case, CaseItem
from bastion.clock import ManualClock
from bastion.grievances.models import Complaint
from bastion.legal import directory
from bastion.legal.models import Decision, LegalRequest
from bastion.legal.schemas import RequestInput
from bastion.ncmec.tables import NcmecReport, NcmecReportFile
from bastion.scanning.models import Scan, ScanMatch
from tests.legal.conftest import bnss_notice


def at(month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


#: (when, [(bank, signal type)]) per scan.
SCANS = [
    (at(9, 10), [("bank-a", "pdq")]), (at(9, 20), []),
    (at(10, 5), [("bank-b", "pdq"), ("bank-a", "pdq")]), (at(10, 31, 23, 59, 59), [("bank-a", "md5")]),
    (at(11, 1), [("bank-a", "pdq")]), (at(11, 1, 12), [("bank-b", "pdq")]),
    (at(11, 15), [("bank-a", "pdq"), ("bank-b", "md5")]), (at(11, 30, 23, 59), []),
    (at(12, 1), [("bank-a", "pdq")]),
]

#: name -> (opened, status, [(content id, classification, decision)])
CASES = {
    "sep": (at(9, 12), "confirmed", [("content-secret-sep", "A2", "confirmed")]),
    "oct": (at(10, 20), "confirmed", [("content-secret-oct", "B1", "confirmed")]),
    "nov1": (at(11, 2), "confirmed", [("content-secret-1", "A1", "confirmed"), ("content-secret-2", "B2", "confirmed"),
                                      ("content-secret-x", "", "not_match")]),
    "nov2": (at(11, 10), "confirmed", [("content-secret-3", "A2", "confirmed")]),
    "nov3": (at(11, 12), "dismissed", [("content-secret-4", "", "not_match")]),
    "nov4": (at(11, 20), "new", [("content-secret-5", "", "pending")]),
}

#: (case name or other subject, kind, target, status, finished, payload)
ACTIONS: list[tuple[str, str, str, str, datetime | None, dict[str, Any]]] = [
    ("sep", "remove_content", "content-secret-sep", "delivered", at(9, 13), {}),
    ("oct", "remove_content", "content-secret-oct", "delivered", at(11, 1, 0, 30), {}),  # delivered in November
    ("nov1", "remove_content", "content-secret-1", "delivered", at(11, 3), {}),
    ("nov1", "remove_content", "content-secret-2", "delivered", at(11, 3), {}),
    ("nov1", "restrict_account", "acct-secret-nov1", "delivered", at(11, 3), {"restriction": "suspend"}),
    ("nov1", "preserve_account", "acct-secret-nov1", "delivered", at(11, 3), {}),
    ("nov2", "remove_content", "content-secret-3", "delivered", at(11, 11), {}),
    ("nov2", "restrict_account", "acct-secret-nov2", "delivered", at(11, 11), {"restriction": "limit"}),
    ("nov2", "remove_content", "content-secret-3b", "pending", None, {}),  # not delivered: not counted
    ("legal-request:1", "remove_content", "content-secret-legal", "delivered", at(11, 14), {}),  # not proactive
    ("nov2", "remove_content", "content-secret-dec", "delivered", at(12, 1), {}),  # December
]

#: (case name, finished, files, retracted)
CYBERTIPLINE = [
    ("nov1", at(11, 4), 2, None),
    ("nov2", at(11, 11, 12), 1, None),
    ("oct", at(10, 25), 1, at(11, 20)),
]

#: (category, received, resolved, outcome, jurisdiction)
COMPLAINTS = [
    ("csam", at(11, 5), at(11, 6), "removed", "IN"),
    ("csam", at(11, 7), at(11, 9), "no_action", "IN"),
    ("ncii", at(11, 10), at(11, 10, 20), "restricted", "IN"),
    ("ncii", at(11, 29), None, "", "IN"),
    ("tos", at(10, 28), at(11, 2), "not_found", "IN"),
    ("tos", at(11, 30), at(12, 2), "removed", "IN"),
    ("illegal", at(9, 15), at(9, 20), "removed", "IN"),
    ("csam", at(11, 12), at(11, 13), "removed", "EU"),
]


def seed(sessions: sessionmaker[Session], clock: ManualClock, submit: Any, decider_id: int) -> None:
    with sessions() as session:
        _scans(session)
        cases = _cases(session)
        _actions(session, cases)
        _cybertipline(session, cases)
        _complaints(session)
        session.commit()
    _legal(sessions, clock, submit, decider_id)


def _scans(session: Session) -> None:
    for n, (when, banks) in enumerate(SCANS, start=1):
        scan = Scan(created_at=when, source="upload", md5=f"{n:032x}", sha1=f"{n:040x}", sha256=f"{n:064x}",
                    content_id=f"content-secret-scan-{n}", account_id=f"acct-secret-scan-{n}", match_count=len(banks))
        session.add(scan)
        session.flush()
        for i, (bank, signal) in enumerate(banks):
            session.add(ScanMatch(scan_id=scan.id, bank_id=1 + (bank == "bank-b"), bank_name=bank, entry_id=n * 10 + i,
                                  signal_id=n * 10 + i, signal_type=signal, distance=0, found_at=when))


def _cases(session: Session) -> dict[str, Case]:
    cases = {}
    for name, (opened, status, items) in CASES.items():
        case = Case(account_id=f"acct-secret-{name}", status=status, opened_at=opened, updated_at=opened,
                    classification=next((c for _, c, d in items if d == "confirmed"), ""))
        session.add(case)
        session.flush()
        for i, (content_id, classification, decision) in enumerate(items):
            session.add(CaseItem(case_id=case.id, scan_id=i + 1, content_id=content_id, bank_id=1, bank_name="bank-a",
                                 entry_id=1, signal_type="pdq", distance=0, added_at=opened, decision=decision,
                                 classification=classification))
        cases[name] = case
    session.flush()
    return cases


def _actions(session: Session, cases: dict[str, Case]) -> None:
    for n, (owner, kind, target, status, finished, payload) in enumerate(ACTIONS):
        subject = f"case:{cases[owner].id}" if owner in cases else owner
        created = finished or at(11, 11)
        session.add(OutboxAction(idempotency_key=f"seed-{n}", status=status, next_attempt_at=created,
                                 created_by="reviewer-secret", created_at=created, updated_at=created, kind=kind,
                                 target=target, payload=payload, subject=subject, finished_at=finished))


def _cybertipline(session: Session, cases: dict[str, Case]) -> None:
    for name, finished, files, retracted in CYBERTIPLINE:
        report = NcmecReport(case_id=cases[name].id, account_id=f"acct-secret-{name}", state="finished",
                             document_json="{}", drafted_by="reviewer-secret", drafted_at=finished, updated_at=finished,
                             finished_at=finished, retracted_at=retracted)
        session.add(report)
        session.flush()
        for i in range(files):
            session.add(NcmecReportFile(report_id=report.id, case_item_id=i + 1))


def _complaints(session: Session) -> None:
    for n, (category, received, resolved, outcome, jurisdiction) in enumerate(COMPLAINTS):
        session.add(Complaint(reference=f"G-SECRET-{n}", status_token_hash=f"{n:064x}", channel="public",
                              category=category, content_ref=f"https://demo.example/content-secret-{n}",
                              description="secret description", contact_email="secret@example.org",
                              jurisdiction=jurisdiction, status="resolved" if resolved else "received",
                              received_at=received, resolved_at=resolved, outcome=outcome))


def _accounts(n: int, tag: str) -> list[dict[str, str]]:
    return [{"kind": "user_id", "value": f"acct-secret-{tag}-{i}"} for i in range(n)]


#: (received, input, due, answered, decision outcome or None)
def _requests() -> list[tuple[datetime, RequestInput, datetime | None, datetime | None, str | None]]:
    fbi = {"requester_email": "agent@ic.fbi.gov", "requester_phone": "+1 202 555 0199",
           "issuing_authority": "FBI", "issuing_officer": "SA Secret Jones"}
    return [
        (at(6, 30), bnss_notice(accounts=_accounts(1, "h1")), None, None, None),  # first half: not in H2
        (at(9, 10), bnss_notice(accounts=_accounts(2, "sep")), at(9, 15), at(9, 12), "produce"),
        (at(10, 5), bnss_notice(accounts=_accounts(1, "oct")), at(10, 15), at(10, 20), "produce_in_part"),
        (at(11, 3), bnss_notice(instrument="in_itr_3_1_d", accounts=_accounts(1, "rem")), at(11, 5), None, None),
        (at(10, 10), bnss_notice(instrument="us_subpoena", accounts=_accounts(1, "sub"), **fbi), at(10, 30),
         at(10, 12), "refuse"),
        (at(11, 8), RequestInput(instrument="us_2703f", accounts=_accounts(1, "pres"), date_from=date(2026, 1, 1),
                                 date_to=date(2026, 11, 1), **fbi), at(11, 9), at(11, 8, 6), None),
        (at(11, 20), RequestInput(instrument="us_emergency", accounts=_accounts(1, "emer"), categories=["subscriber"],
                                  emergency_person="a child", emergency_nature="threat", emergency_why="urgent",
                                  **fbi), at(11, 21), at(11, 20, 3), "produce"),
        (at(11, 25), bnss_notice(instrument="eu_epoc_pr", requester_email="k@polizei.example.de",
                                 accounts=_accounts(2, "eu")), None, None, None),
    ]


def _legal(sessions: sessionmaker[Session], clock: ManualClock, submit: Any, decider_id: int) -> None:
    with sessions() as session:
        directory.set_agency(session, name="Polizei (demo)", country="DE", jurisdiction="EU",
                             domains="polizei.example.de", actor="test", clock=clock)
        session.commit()
    for received, data, due, answered, outcome in _requests():
        clock.set(received)
        document = None if data.instrument in ("us_2703f", "us_emergency") else b"%PDF-1.4\n%%EOF\n"
        request = submit(data, document=document)
        with sessions() as session:
            row = session.get(LegalRequest, request.id)
            assert row is not None and row.received_at == received
            row.due_at, row.answered_at = due, answered
            if outcome is not None:
                session.add(Decision(request_id=row.id, outcome=outcome, categories_json='["subscriber"]',
                                     status="approved", decided_by=decider_id, decided_at=answered or received,
                                     approved_by=decider_id, approved_at=answered or received))
            session.commit()
    clock.set(NOW)


NOW = at(12, 3, 9)
