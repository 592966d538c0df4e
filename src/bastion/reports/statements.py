"""Statement-of-reasons figures: how many were sent, how many withheld and why, and their DSA filing.

A statement is counted in the period it was written (`account_notices.created_at`). Withholding
reasons are grouped by what caused them, never quoted (a reason names a legal request):
`non_disclosure_order`, `legal_request` (notice withheld by the legal desk), `csam_policy`
(`notices.withhold_csam`), `other`. The DSA part counts the EU statements by where their filing
with the Transparency Database stands now.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.dsa.models import STATES, DsaStatement
from bastion.notices.models import NoticeRecord
from bastion.reports.period import Period

REASONS = ("non_disclosure_order", "legal_request", "csam_policy", "other")


def reason_group(reason: str) -> str:
    if reason.startswith("Non-disclosure order"):
        return "non_disclosure_order"
    if reason.startswith("Legal request"):
        return "legal_request"
    if reason.startswith("Policy:") and "withhold_csam" in reason:
        return "csam_policy"
    return "other"


def statements_of_reasons(session: Session, period: Period) -> dict[str, Any]:
    """Written in the period: sent, withheld by reason, per jurisdiction; EU ones by DSA filing state."""
    rows = session.execute(select(NoticeRecord.id, NoticeRecord.jurisdiction, NoticeRecord.status,
                                  NoticeRecord.withheld_reason).where(
        NoticeRecord.kind == "statement_of_reasons", NoticeRecord.created_at >= period.since,
        NoticeRecord.created_at < period.until)).all()
    withheld = dict.fromkeys(REASONS, 0)
    by_jurisdiction: dict[str, dict[str, int]] = {}
    sent = 0
    for _, jurisdiction, status, reason in rows:
        row = by_jurisdiction.setdefault(jurisdiction, {"sent": 0, "withheld": 0})
        if status == "withheld":
            withheld[reason_group(reason)] += 1
            row["withheld"] += 1
        else:
            sent += 1
            row["sent"] += 1
    ids = [r[0] for r in rows]
    filing = dict.fromkeys(STATES, 0)
    if ids:
        for status in session.scalars(select(DsaStatement.status).where(DsaStatement.notice_id.in_(ids))):
            filing[status] += 1
    return {"written": len(rows), "sent": sent, "withheld": sum(withheld.values()), "withheld_by_reason": withheld,
            "by_jurisdiction": dict(sorted(by_jurisdiction.items())), "dsa_database": filing}
