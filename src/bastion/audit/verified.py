"""Verifying the chain within a budget: the last whole-chain walk, its end re-checked, and the tail.

A walk of the whole chain reads every record; at a platform's volume that is minutes, too long for a
page load. So a whole walk is an act (`verify_whole`: the page's button, `bastion audit verify`) whose
result is kept, and the page shows `current`: that result, a check that the record it ended at still
holds the same hash (an edit there, or a rewrite of everything up to it, shows at once), and a walk of
the records written since, when there are at most `budget` of them. What this cannot see, an edit
to a record older than the last walk that leaves the record it ended at untouched, the next whole walk
finds; the page says when that was.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.audit.chain import GENESIS, VerifyResult, verify
from bastion.audit.models import AuditRecord, AuditVerification
from bastion.clock import Clock

#: Records the page walks on a load; beyond this it asks for a whole walk instead.
TAIL_BUDGET = 20_000


@dataclass(frozen=True)
class ChainStatus:
    """What the audit page says about the chain."""

    last_whole: AuditVerification | None  # the last whole walk, None when there has never been one
    tail: VerifyResult | None  # the walk of the records since it; None when over the budget
    unchecked: int  # records written since the last whole walk and not walked now (over the budget)
    anchor_problem: str = ""  # the record the last walk ended at was changed or removed

    @property
    def ok(self) -> bool:
        whole_ok = self.last_whole is None or self.last_whole.ok
        return whole_ok and not self.anchor_problem and (self.tail is None or self.tail.ok)


def verify_whole(session: Session, *, actor: str, clock: Clock) -> AuditVerification:
    """Walk the whole chain and keep the result (the caller commits)."""
    result = verify(session)
    # a sound chain numbers its records 1..n, so the walk ended at record n = result.records (and a broken
    # one's good prefix ends there too); records appended during the walk are the next load's tail
    row = AuditVerification(at=clock.now(), actor=actor[:200], ok=result.ok, records=result.records,
                            head_seq=result.records, head_hash=result.head_hash,
                            first_broken=result.first_broken, reason=result.reason)
    session.add(row)
    session.flush()
    return row


def last_whole(session: Session) -> AuditVerification | None:
    return session.scalar(select(AuditVerification).order_by(AuditVerification.id.desc()).limit(1))


def current(session: Session, *, budget: int = TAIL_BUDGET) -> ChainStatus:
    """The chain's state as far as `budget` records of walking can establish it."""
    last = last_whole(session)
    start = (last.head_seq, last.head_hash) if last is not None and last.ok else (0, GENESIS)
    if last is not None and last.ok and last.head_seq:
        anchor = session.get(AuditRecord, last.head_seq)
        if anchor is None or anchor.hash != last.head_hash:
            return ChainStatus(last, None, 0, anchor_problem=(
                f"record {last.head_seq}, where the last whole verification ended, was "
                f"{'removed' if anchor is None else 'changed'} since"))
    since = session.scalar(select(func.count()).select_from(AuditRecord).where(AuditRecord.seq > start[0])) or 0
    if last is not None and not last.ok:
        return ChainStatus(last, None, 0)
    if since > budget:
        return ChainStatus(last, None, since)
    return ChainStatus(last, verify(session, after=start), 0)
