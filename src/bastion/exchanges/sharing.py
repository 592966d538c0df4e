"""Share-back: what reviewers decide goes back to the exchanges that shared the hash (hashes only, never media).

Per exchange, an admin switches on what it accepts (`Sharing`):

* `confirmed`: a reviewer confirmed a match on a hash this exchange shared -> its positive feedback
  (NCMEC upvote, StopNCII `Blocked`, a ThreatExchange `HELPFUL` reaction);
* `false_positive`: a reviewer decided a match was not one -> its negative feedback (NCMEC downvote,
  StopNCII `NotBlocked`, ThreatExchange `DISAGREE_WITH_TAGS`);
* `new_material`: material reviewers confirmed that no other bank knew (the entries a concluded case
  adds to the platform's own bank, `cases.enforce.OWN_REVIEW_SOURCE`) -> a new hash (a ThreatExchange
  descriptor; the NCMEC and StopNCII clients have no upload call for platforms);
* `second_approver`: each contribution waits (`needs_approval`) until a different person approves it.

Contributions are found by `propose`, which reads decided case items (and own-review bank entries)
since sharing was switched on, and writes one outbox row per (exchange, decision, upstream record)
with a deterministic idempotency key: running it twice, or after a crash, adds nothing twice.
Decisions only ever flow this way (cases never import exchanges), so review works the same with
sharing on or off. Every step (switching sharing, each contribution, approval, refusal) is audited.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, aliased

from bastion import audit
from bastion.banks.models import Bank, BankEntry, EntrySignal
from bastion.cases.enforce import OWN_REVIEW_SOURCE, own_bank_name
from bastion.cases.models import CaseItem
from bastion.clock import Clock
from bastion.db import keyset
from bastion.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from bastion.exchanges.contribution_queue import QUEUE
from bastion.exchanges.models import (
    AWAITING_APPROVAL,
    REFUSED,
    ContributionStatus,
    Exchange,
    ExchangeContribution,
    ExchangeItem,
)

KINDS = ("confirmed", "false_positive", "new_material")
#: what each exchange type accepts
ACCEPTS: dict[str, tuple[str, ...]] = {"ncmec": ("confirmed", "false_positive"),
                                       "stop_ncii": ("confirmed", "false_positive"),
                                       "fb_threatexchange": ("confirmed", "false_positive", "new_material")}
#: signal types each type takes as new material
NEW_SIGNALS: dict[str, tuple[str, ...]] = {"fb_threatexchange": ("pdq", "md5")}
DECISION_KIND = {"confirmed": "confirmed", "not_match": "false_positive"}
_OWN_REVIEW_ID = re.compile(r"case-(\d+)-item-(\d+)")


@dataclass(frozen=True)
class Sharing:
    confirmed: bool = False
    false_positive: bool = False
    new_material: bool = False
    second_approver: bool = False

    @property
    def on(self) -> bool:
        return self.confirmed or self.false_positive or self.new_material

    @classmethod
    def of(cls, exchange: Exchange) -> Sharing:
        stored = json.loads(exchange.share_json or "{}")
        return cls(**{f.name: bool(stored.get(f.name, False)) for f in fields(cls)})


def set_sharing(session: Session, exchange: Exchange, sharing: Sharing, *, actor: str, clock: Clock) -> None:
    """What the exchange gets back. Switching sharing on shares decisions from now on, never older ones."""
    accepted = ACCEPTS.get(exchange.api, ())
    refused = [k for k in KINDS if getattr(sharing, k) and k not in accepted]
    if refused:
        raise InvalidInput(f"{exchange.api} does not take {', '.join(refused)}; it takes "
                           f"{', '.join(accepted) or 'no contributions'}.")
    was_on = Sharing.of(exchange).on
    exchange.share_json = json.dumps(asdict(sharing), sort_keys=True)
    if sharing.on and not was_on:
        exchange.share_since = clock.now()
    exchange.updated_at = clock.now()
    audit.record(session, actor=actor, action="exchange.sharing", subject=f"exchange:{exchange.id}",
                 details={"name": exchange.name, **asdict(sharing)}, clock=clock)
    if sharing.on:
        QUEUE.schedule(session, clock=clock)


def contribution_key(exchange_id: int, kind: str, subject: str, upstream_id: str, signal_type: str) -> str:
    """Derived only from durable ids, so proposing the same contribution again finds the same row."""
    digest = hashlib.sha256("\x1f".join(("bastion-exchange-contribution", str(exchange_id), kind, subject,
                                         upstream_id, signal_type)).encode()).hexdigest()
    return f"xc-{digest[:48]}"


def propose(session: Session, *, clock: Clock) -> int:
    """Add a contribution for every decision not yet shared with each sharing exchange; returns how many."""
    added = 0
    for exchange in session.scalars(select(Exchange).where(Exchange.share_since.is_not(None)).order_by(Exchange.id)):
        sharing = Sharing.of(exchange)
        if sharing.confirmed or sharing.false_positive:
            added += _propose_feedback(session, exchange, sharing, clock)
        if sharing.new_material:
            added += _propose_new_material(session, exchange, sharing, clock)
    return added


def _propose_feedback(session: Session, exchange: Exchange, sharing: Sharing, clock: Clock) -> int:
    decisions = [d for d, kind in DECISION_KIND.items() if getattr(sharing, kind)]
    rows = session.execute(
        select(CaseItem.id, CaseItem.decision, CaseItem.decided_by, CaseItem.signal_type, ExchangeItem.upstream_id,
               ExchangeItem.signals_json, ExchangeItem.labels_json)
        .join(ExchangeItem, ExchangeItem.entry_id == CaseItem.entry_id)
        .where(ExchangeItem.exchange_id == exchange.id, CaseItem.decision.in_(decisions),
               CaseItem.decided_at >= exchange.share_since,
               ~exists().where(ExchangeContribution.exchange_id == exchange.id,
                               ExchangeContribution.case_item_id == CaseItem.id))
        .order_by(CaseItem.id)).all()
    added = 0
    for item_id, decision, decided_by, matched_type, upstream_id, signals_json, labels_json in rows:
        signals, labels = json.loads(signals_json), json.loads(labels_json)
        signal_type = matched_type if matched_type in signals else next(iter(sorted(signals)), "")
        if not signal_type:
            continue
        payload = _feedback_payload(exchange.api, upstream_id, labels)
        if payload is None:
            continue
        _add(session, exchange, sharing, kind=DECISION_KIND[decision], subject=f"case_item:{item_id}",
             case_item_id=item_id, entry_id=None, upstream_id=upstream_id, signal_type=signal_type,
             value=signals[signal_type], payload=payload, proposer_id=decided_by, clock=clock)
        added += 1
    return added


def _feedback_payload(api: str, upstream_id: str, labels: dict[str, Any]) -> dict[str, Any] | None:
    """What the sender needs to address the record at the exchange, or None when it cannot be addressed."""
    if api == "ncmec":
        member, _, entry = upstream_id.partition("-")
        return {"member_id": int(member), "entry_id": entry} if member.isdigit() and entry else None
    if api == "fb_threatexchange":
        descriptors = [int(d) for d in labels.get("descriptors", [])]
        return {"descriptors": descriptors} if descriptors else None
    return {}


def _propose_new_material(session: Session, exchange: Exchange, sharing: Sharing, clock: Clock) -> int:
    wanted = NEW_SIGNALS.get(exchange.api, ())
    own_bank = session.scalar(select(Bank.id).where(Bank.name == own_bank_name(session)))
    if own_bank is None:  # nothing confirmed yet
        return 0
    other, other_entry = aliased(EntrySignal), aliased(BankEntry)
    known_elsewhere = (select(other.id).join(other_entry, other_entry.id == other.entry_id)
                       .where(other.signal_type == EntrySignal.signal_type, other.value == EntrySignal.value,
                              other_entry.source != OWN_REVIEW_SOURCE).exists())
    rows = session.execute(
        select(BankEntry.id, BankEntry.external_id, EntrySignal.signal_type, EntrySignal.value)
        .join(EntrySignal, EntrySignal.entry_id == BankEntry.id)
        .where(BankEntry.bank_id == own_bank, BankEntry.source == OWN_REVIEW_SOURCE,
               BankEntry.added_at >= exchange.share_since,
               EntrySignal.signal_type.in_(wanted), ~known_elsewhere,
               ~exists().where(ExchangeContribution.exchange_id == exchange.id,
                               ExchangeContribution.entry_id == BankEntry.id))
        .order_by(BankEntry.id, EntrySignal.signal_type)).all()
    added = 0
    for entry_id, external_id, signal_type, value in rows:
        found = _OWN_REVIEW_ID.fullmatch(external_id)
        proposer = session.scalar(select(CaseItem.decided_by).where(CaseItem.id == int(found.group(2)))) \
            if found else None
        _add(session, exchange, sharing, kind="new_material", subject=f"bank_entry:{entry_id}", case_item_id=None,
             entry_id=entry_id, upstream_id="", signal_type=signal_type, value=value, payload={},
             proposer_id=proposer, clock=clock)
        added += 1
    return added


def _add(session: Session, exchange: Exchange, sharing: Sharing, *, kind: str, subject: str,
         case_item_id: int | None, entry_id: int | None, upstream_id: str, signal_type: str, value: str,
         payload: dict[str, Any], proposer_id: int | None, clock: Clock) -> ExchangeContribution:
    key = contribution_key(exchange.id, kind, subject, upstream_id, signal_type)
    values = {"exchange_id": exchange.id, "kind": kind, "subject": subject, "case_item_id": case_item_id,
              "entry_id": entry_id, "upstream_id": upstream_id[:255], "signal_type": signal_type, "value": value,
              "payload": payload, "proposer_id": proposer_id, "approver_id": None, "approved_by": "",
              "approved_at": None}
    row: ExchangeContribution = QUEUE.add(
        session, values, key=key, actor="bastion", clock=clock, audit_action="exchange.contribution",
        audit_details=lambda row: {"exchange": exchange.name, "kind": kind, "signal_type": signal_type,
                                   "upstream_id": upstream_id, "needs_approval": sharing.second_approver},
        same=lambda row: (row.exchange_id, row.kind, row.subject) == (exchange.id, kind, subject),
        describe=lambda row: f"{row.kind} to exchange {row.exchange_id} for {row.subject}")
    if sharing.second_approver and row.status == ContributionStatus.PENDING and row.attempts == 0 \
            and row.approved_at is None:
        row.status = AWAITING_APPROVAL
    return row


# -- a second person ----------------------------------------------------------------------


def _awaiting(session: Session, contribution_id: int) -> ExchangeContribution:
    row = session.get(ExchangeContribution, contribution_id)
    if row is None:
        raise NotFound(f"There is no contribution {contribution_id}.")
    if row.status != AWAITING_APPROVAL:
        raise Conflict(f"Contribution {contribution_id} is {row.status}; only one awaiting approval can be decided.")
    return row


def approve(session: Session, contribution_id: int, *, approver_id: int, actor: str, clock: Clock) -> None:
    """A different person than the one whose decision it is lets the contribution go out."""
    row = _awaiting(session, contribution_id)
    if row.proposer_id is not None and row.proposer_id == approver_id:
        raise PermissionDenied("A second person must approve this contribution; you made the decision it shares.")
    now = clock.now()
    moved = session.execute(
        update(ExchangeContribution).where(ExchangeContribution.id == row.id,
                                           ExchangeContribution.status == AWAITING_APPROVAL)
        .values(status=ContributionStatus.PENDING.value, approver_id=approver_id, approved_by=actor[:200],
                approved_at=now, next_attempt_at=now, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if moved != 1:
        raise Conflict(f"Contribution {contribution_id} was decided by someone else just now.")
    session.refresh(row)
    audit.record(session, actor=actor, action="exchange.contribution_approve", subject=row.subject, clock=clock,
                 details={"contribution_id": row.id, "exchange_id": row.exchange_id, "kind": row.kind})
    QUEUE.schedule(session, clock=clock)


def refuse(session: Session, contribution_id: int, *, approver_id: int, actor: str, reason: str,
           clock: Clock) -> None:
    """The second person says no: nothing is sent."""
    row = _awaiting(session, contribution_id)
    if not reason.strip():
        raise InvalidInput("Say why the contribution should not be sent.")
    now = clock.now()
    row.status, row.approver_id, row.approved_by = REFUSED, approver_id, actor[:200]
    row.last_error, row.finished_at, row.updated_at = f"refused: {reason.strip()}"[:2000], now, now
    audit.record(session, actor=actor, action="exchange.contribution_refuse", subject=row.subject, clock=clock,
                 details={"contribution_id": row.id, "exchange_id": row.exchange_id, "reason": reason.strip()})


@dataclass(frozen=True)
class ContributionView:
    id: int
    exchange: str
    kind: str
    subject: str
    signal_type: str
    upstream_id: str
    status: str
    proposer_id: int | None
    approved_by: str
    attempts: int
    last_error: str
    created_at: datetime
    finished_at: datetime | None


STATUSES = (AWAITING_APPROVAL, "pending", "sending", "sent", "failed_retrying", "dead", REFUSED)


def contributions(session: Session, *, exchange: str = "", status: str = "", cursor: str | None = None,
                  limit: int | None = None) -> keyset.Page[ContributionView]:
    """One page of contributions, newest first, filtered by exchange name and status (exact values)."""
    size = keyset.page_size(limit)
    query = select(ExchangeContribution, Exchange.name).join(Exchange, Exchange.id == ExchangeContribution.exchange_id)
    if exchange.strip():
        query = query.where(Exchange.name == keyset.exact(exchange, "exchange name", 255))
    if status.strip():
        if status.strip() not in STATUSES:
            raise InvalidInput(f"A contribution's status is one of {', '.join(STATUSES)}.")
        query = query.where(ExchangeContribution.status == status.strip())
    after = keyset.after_id(cursor)
    if after is not None:
        query = query.where(ExchangeContribution.id < after)
    rows = session.execute(query.order_by(ExchangeContribution.id.desc()).limit(size + 1)).all()
    views = [ContributionView(r.id, name, r.kind, r.subject, r.signal_type, r.upstream_id, r.status, r.proposer_id,
                              r.approved_by, r.attempts, r.last_error, r.created_at, r.finished_at) for r, name in rows]
    return keyset.cut(views, size, lambda v: [v.id])
