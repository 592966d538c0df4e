"""Bastion's own knowledge of the same accounts: cases, and the CyberTipline reports they led to.

The legal reviewer sees these next to the request. Read-only: the cases domain owns its tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.cases.models import Case, CaseEvent
from bastion.legal.models import LegalRequest, RequestAccount

CONFIRMED = ("confirmed", "actioned", "closed")


@dataclass(frozen=True)
class RelatedCase:
    id: int
    account_id: str
    status: str
    classification: str
    opened_at: datetime
    reported: bool  # a CyberTipline report was requested for it
    reports: tuple[tuple[int | None, str], ...] = ()  # (NCMEC report id, state) of its CyberTipline reports

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "account_id": self.account_id, "status": self.status,
                "classification": self.classification, "opened_at": self.opened_at.isoformat(),
                "cybertipline_report": self.reported,
                "cybertipline_reports": [{"ncmec_report_id": r, "state": s} for r, s in self.reports]}


def _accounts(session: Session, request: LegalRequest) -> list[str]:
    return [a for a in session.scalars(select(RequestAccount.account_id).where(
        RequestAccount.request_id == request.id, RequestAccount.account_id != "")).all()]


def cases_for(session: Session, request: LegalRequest) -> list[RelatedCase]:
    accounts = _accounts(session, request)
    if not accounts:
        return []
    cases = list(session.scalars(select(Case).where(Case.account_id.in_(accounts)).order_by(Case.id)))
    reported = set(session.scalars(select(CaseEvent.case_id).where(
        CaseEvent.case_id.in_([c.id for c in cases]), CaseEvent.kind == "report_requested"))) if cases else set()
    return [RelatedCase(c.id, c.account_id, c.status, c.classification, c.opened_at,
                        c.id in reported or bool(_reports(session, c.id)), _reports(session, c.id)) for c in cases]


def _reports(session: Session, case_id: int) -> tuple[tuple[int | None, str], ...]:
    """The case's CyberTipline reports, through the ncmec domain's service API."""
    try:
        from bastion.ncmec.lifecycle import list_reports
    except ImportError:  # the reporting lifecycle is not installed
        return ()
    return tuple((r.ncmec_report_id, r.state) for r in list_reports(session, case_id=case_id))


def confirmed_case_ids(session: Session, request: LegalRequest) -> list[int]:
    """Confirmed child-safety cases on the request's accounts (these bar user notice)."""
    return [c.id for c in cases_for(session, request) if c.status in CONFIRMED and c.classification]


def summary(session: Session, request: LegalRequest) -> list[dict[str, object]]:
    return [json.loads(json.dumps(c.as_dict())) for c in cases_for(session, request)]
