"""The chain of custody: one row per act on an item, each linked to an audit record.

The custody table answers "who touched item 7" quickly; the audit chain proves
nobody rewrote that answer (each row keeps the sequence number of its audit record,
which hashes the same who/what/why).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.audit.chain import inside
from bastion.clock import Clock
from bastion.evidence.models import CustodyEvent, EvidenceItem

_WAITING = "bastion.custody.waiting"

STORE = "store"
VIEW = "view"
EXPORT = "export"
DISCLOSE = "disclose"
HOLD = "hold"
RELEASE = "release"
RETENTION = "retention"
PURGE = "purge"


def record(
    session: Session,
    items: Sequence[EvidenceItem],
    *,
    action: str,
    actor: str,
    reason: str,
    clock: Clock,
    details: dict[str, Any] | None = None,
    audit_subject: str | None = None,
) -> list[CustodyEvent]:
    """Write one audit record and a custody row per item, in the caller's transaction.

    One act on many items (a hold on a subject) is one audit record; `audit_subject`
    names what it was about, defaulting to the first item. The act is audited even
    when it covers no item yet (a hold on a subject with no evidence so far).
    """
    if audit_subject is None and not items:
        raise ValueError("an act on no items needs an audit_subject")
    details = dict(details or {})
    subject = audit_subject or f"evidence:{items[0].id}"
    entry = audit.record(
        session, actor=actor, action=f"evidence.{action}", subject=subject,
        details={**details, "reason": reason, "items": [item.id for item in items]}, clock=clock,
    )
    events = [
        CustodyEvent(item_id=item.id, at=entry.at, actor=actor, action=action, reason=reason,
                     details_json=json.dumps(details, sort_keys=True, default=str))
        for item in items
    ]

    for custody_event in events:  # not a column: which (savepoint) transaction the act belongs to
        custody_event.recorded_within = entry.within  # type: ignore[attr-defined]
    waiting = session.info.setdefault(_WAITING, [])
    waiting.extend(events)

    def cite(written: Any) -> None:
        """At commit, the audit record has its number: the events cite it and are written."""
        for custody_event in events:
            custody_event.audit_seq = written.seq
            waiting.remove(custody_event)
        session.add_all(events)

    entry.then(cite)
    return events


def history(session: Session, item_id: int) -> list[CustodyEvent]:
    """Every custody event of an item, oldest first, this transaction's own included.

    Events of the running transaction are written when it commits (their audit record gets its
    place in the chain only then; see `bastion.audit.chain.record`), so until then they are
    listed from the session, with no `audit_seq` yet.
    """
    written = list(session.scalars(
        select(CustodyEvent).where(CustodyEvent.item_id == item_id).order_by(CustodyEvent.id)
    ))
    return written + [e for e in session.info.get(_WAITING, []) if e.item_id == item_id]


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, previous_transaction: Any) -> None:
    """Like the audit records they cite: a rollback drops the events of acts inside what rolled back, and
    only those (SQLAlchemy's `after_rollback` also fires for a savepoint, and would drop them all)."""
    waiting = session.info.get(_WAITING)
    if not waiting:
        return
    if previous_transaction.parent is None:
        session.info.pop(_WAITING, None)
    else:  # in place: the pending audit records' callbacks hold this list
        waiting[:] = [e for e in waiting if not inside(getattr(e, "recorded_within", None), previous_transaction)]
