"""What the case page shows: items with their match, the uploader's metadata and prior cases."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.cases.models import Case, CaseEvent, CaseItem
from bastion.cases.service import events_of, items_of
from bastion.scanning.models import Scan


@dataclass(frozen=True)
class ItemView:
    item: CaseItem
    scan: Scan | None
    metadata: dict[str, Any]


@dataclass(frozen=True)
class CaseView:
    case: Case
    items: list[ItemView]
    events: list[CaseEvent]
    prior_cases: list[Case]


def case_view(session: Session, case: Case) -> CaseView:
    items = items_of(session, case.id)
    scans = {s.id: s for s in session.scalars(select(Scan).where(Scan.id.in_([i.scan_id for i in items])))} if items else {}
    views = [ItemView(i, scans.get(i.scan_id), json.loads(scans[i.scan_id].metadata_json) if i.scan_id in scans else {})
             for i in items]
    prior = list(session.scalars(select(Case).where(Case.account_id == case.account_id, Case.id != case.id)
                                 .order_by(Case.id.desc()).limit(20)))
    return CaseView(case, views, events_of(session, case.id), prior)
