"""What the case page shows: items with their match, the uploader's metadata and prior cases."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.banks.models import Bank
from bastion.cases.models import Case, CaseEvent, CaseItem
from bastion.cases.service import events_of, items_of
from bastion.scanning.models import Scan


@dataclass(frozen=True)
class ItemView:
    item: CaseItem
    scan: Scan | None
    metadata: dict[str, Any]
    why: str = ""


@dataclass(frozen=True)
class CaseView:
    case: Case
    items: list[ItemView]
    events: list[CaseEvent]
    prior_cases: list[Case]
    #: Items of the same account's other cases, grouped by case (newest first): hashes and metadata, no media.
    related: list[tuple[Case, list[CaseItem]]] = field(default_factory=list)


def case_view(session: Session, case: Case) -> CaseView:
    items = items_of(session, case.id)
    scans = {s.id: s for s in session.scalars(select(Scan).where(Scan.id.in_([i.scan_id for i in items])))} if items else {}
    thresholds = dict(session.execute(select(Bank.id, Bank.pdq_threshold).where(
        Bank.id.in_({i.bank_id for i in items}))).all()) if items else {}
    views = [ItemView(i, scans.get(i.scan_id), json.loads(scans[i.scan_id].metadata_json) if i.scan_id in scans else {},
                      why_here(i, thresholds.get(i.bank_id))) for i in items]
    prior = list(session.scalars(select(Case).where(Case.account_id == case.account_id, Case.id != case.id)
                                 .order_by(Case.id.desc()).limit(20)))
    related: list[tuple[Case, list[CaseItem]]] = []
    if prior:
        grouped: dict[int, list[CaseItem]] = {}
        for other in session.scalars(select(CaseItem).where(CaseItem.case_id.in_([p.id for p in prior]))
                                     .order_by(CaseItem.id)):
            grouped.setdefault(other.case_id, []).append(other)
        related = [(p, grouped[p.id]) for p in prior if p.id in grouped]
    return CaseView(case, views, events_of(session, case.id), prior, related)


def placement(events: list[CaseEvent], queue_name: str) -> str:
    """Why the case is in its queue: the routing rule that sent it, or who moved it and why ('' if unrouted)."""
    for event in reversed(events):
        if event.kind not in ("routed", "moved"):
            continue
        try:
            details = json.loads(event.details or "{}")
        except ValueError:
            details = {}
        if event.kind == "routed":
            return f"Routed to {queue_name} by rule “{details.get('rule', '?')}”."
        return f"Moved to {queue_name} by {event.actor}: {details.get('reason', '')}."
    return ""


def why_here(item: CaseItem, threshold: int | None) -> str:
    """One line for the reviewer: the rule that matched, the bank, the distance. Text only, never media."""
    if item.signal_type == "complaint":
        return f"Reported by {item.bank_source}, as {item.category}; no bank match brought it here."
    if item.signal_type == "classifier":
        return f"Scored by {item.bank_source}; no bank match, a person decides."
    bank = f"{item.bank_name} entry #{item.entry_id}" + (f" ({item.bank_source})" if item.bank_source else "")
    if item.signal_type in ("md5", "sha256", "sha1"):
        rule = f"exact {item.signal_type.upper()} match (the same file)"
    else:
        limit = f" within the bank's threshold of {threshold}" if threshold is not None else ""
        rule = f"{item.signal_type.upper()} perceptual match at distance {item.distance}{limit}"
    category = f"; listed as {item.category}" if item.category else ""
    return f"{rule} against {bank}{category}."
