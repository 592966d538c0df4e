"""Proactive monitoring: content removed or disabled, and accounts restricted, through automated tools.

Every case Bastion opens starts from a hash match found by its scanner, so every removal a
confirmed case causes is a removal "through proactive monitoring with automated tools" in the words
of IT Rules 2021 Rule 4(1)(d). A removal counts in the period in which the platform confirmed it
(the outbox row was delivered), under the industry classification the reviewer gave the item.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.actions.models import OutboxAction
from bastion.cases.models import Case, CaseItem
from bastion.cases.policy import CLASSIFICATIONS
from bastion.reports.period import Period

DELIVERED = "delivered"
UNCLASSIFIED = "unclassified"
#: The industry classification (the four categories shared among platforms and NCMEC).
TITLES = {
    "A1": "A1: prepubescent child, sex act",
    "A2": "A2: prepubescent child, lascivious exhibition",
    "B1": "B1: pubescent child, sex act",
    "B2": "B2: pubescent child, lascivious exhibition",
    UNCLASSIFIED: "Not classified",
}


def _case_id(subject: str) -> int | None:
    kind, _, number = subject.partition(":")
    return int(number) if kind == "case" and number.isdigit() else None


def proactive(session: Session, period: Period) -> dict[str, Any]:
    """Removals by classification and account restrictions by type, delivered within the period."""
    actions = session.execute(
        select(OutboxAction.kind, OutboxAction.target, OutboxAction.subject, OutboxAction.payload)
        .where(OutboxAction.status == DELIVERED, OutboxAction.finished_at >= period.since,
               OutboxAction.finished_at < period.until,
               OutboxAction.kind.in_(("remove_content", "restrict_account")))).all()
    case_ids = {cid for _, _, subject, _ in actions if (cid := _case_id(subject)) is not None}
    item_class: dict[tuple[int, str], str] = {}
    case_class: dict[int, str] = {}
    if case_ids:
        for case_id, content_id, classification in session.execute(
                select(CaseItem.case_id, CaseItem.content_id, CaseItem.classification)
                .where(CaseItem.case_id.in_(case_ids), CaseItem.decision == "confirmed")):
            item_class.setdefault((case_id, content_id), classification)
        case_class = dict(session.execute(select(Case.id, Case.classification).where(Case.id.in_(case_ids))).all())
    removed: Counter[str] = Counter({key: 0 for key in (*CLASSIFICATIONS, UNCLASSIFIED)})
    restricted: Counter[str] = Counter({"suspend": 0, "limit": 0})
    for kind, target, subject, payload in actions:
        case_id = _case_id(subject)
        if case_id is None:
            continue  # not from a case: not proactive detection
        if kind == "remove_content":
            label = item_class.get((case_id, target)) or case_class.get(case_id) or UNCLASSIFIED
            removed[label if label in TITLES else UNCLASSIFIED] += 1
        else:
            restricted[str((payload or {}).get("restriction", "suspend"))] += 1
    return {"removed_by_classification": dict(sorted(removed.items())), "removed": sum(removed.values()),
            "accounts_restricted": dict(sorted(restricted.items()))}
