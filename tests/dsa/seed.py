"""Confirmed cases and their statements of reasons, made through the notices code itself."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from bastion.actions import outbox
from bastion.cases.models import Case, CaseItem
from bastion.clock import ManualClock
from bastion.notices import statements
from bastion.notices.models import NoticeRecord


def enforced_case(session: Session, clock: ManualClock, *, account: str = "acct-1", classification: str = "A1",
                  restrict: str = "suspend", posts: int = 1, decided_by: int | None = None) -> Case:
    """A case with `posts` confirmed items, their removal and the account's restriction requested."""
    now = clock.now()
    case = Case(account_id=account, status="confirmed", opened_at=now - timedelta(days=2), updated_at=now,
                classification=classification, closed_at=now)
    session.add(case)
    session.flush()
    for n in range(posts):
        session.add(CaseItem(case_id=case.id, scan_id=1000 + n, content_id=f"post-{case.id}-{n}", bank_id=1,
                             bank_name="KNOWN", entry_id=1, signal_type="pdq", distance=0,
                             added_at=now - timedelta(days=2), decision="confirmed", classification=classification,
                             decided_by=decided_by, decided_at=now))
        outbox.enqueue(session, kind="remove_content", target=f"post-{case.id}-{n}", subject=f"case:{case.id}",
                       payload={"reason": "test"}, actor="reviewer", clock=clock)
    if restrict:
        outbox.enqueue(session, kind="restrict_account", target=account, subject=f"case:{case.id}",
                       payload={"restriction": restrict, "reason": "test"}, actor="reviewer", clock=clock)
    session.flush()
    return case


def notice_for(session: Session, clock: ManualClock, case: Case, *, jurisdiction: str = "EU",
               withheld: str | None = None) -> NoticeRecord:
    """The statement of reasons the notices code writes for the case, sent or withheld."""
    notice = statements.statement_for_case(session, case, jurisdiction=jurisdiction,
                                           reference=statements.reference_for(case))
    return statements.send(session, account_id=case.account_id, subject=f"case:{case.id}", notice=notice,
                           jurisdiction=jurisdiction, withheld=withheld, actor="test", clock=clock)


def eu_notices(session: Session, clock: ManualClock, count: int, **kwargs: object) -> list[NoticeRecord]:
    return [notice_for(session, clock, enforced_case(session, clock, account=f"acct-{n}", **kwargs))  # type: ignore[arg-type]
            for n in range(count)]
