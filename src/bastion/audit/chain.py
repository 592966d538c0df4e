"""Writing and verifying the hash chain.

Each record's hash is SHA-256 over a canonical JSON of its fields and the previous
record's hash. Editing a record breaks its own hash; deleting one breaks the next
record's link (or, for the last records, the head). Someone with write access to the
database could rebuild the whole chain, so operators should export the head hash
(`bastion audit verify` prints it) to somewhere they do not control from here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from bastion.audit.models import AuditHead, AuditRecord
from bastion.clock import Clock, SystemClock

GENESIS = "0" * 64
HEAD_ID = 1
_PENDING = "bastion.audit.pending"


class AuditBroken(Exception):
    """The chain does not verify; `seq` is the first broken record."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"audit record {seq}: {reason}")
        self.seq = seq
        self.reason = reason


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a full walk."""

    ok: bool
    records: int
    head_hash: str
    first_broken: int | None = None
    reason: str = ""


def record_hash(seq: int, at: datetime, actor: str, action: str, subject: str, details: str, prev_hash: str) -> str:
    """SHA-256 of a record's canonical form."""
    canonical = json.dumps(
        [seq, at.isoformat(timespec="microseconds"), actor, action, subject, details, prev_hash],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class PendingRecord:
    """An audit record waiting for its transaction to commit, when it gets its place in the chain.

    `then(fn)` runs `fn` with the written `AuditRecord` once it has a sequence number (at once
    if it already has one): how rows that cite the record (custody events) learn its number.
    """

    at: datetime
    actor: str
    action: str
    subject: str
    details: str
    written: AuditRecord | None = None
    _callbacks: list[Callable[[AuditRecord], None]] = field(default_factory=list)
    #: The innermost transaction (a savepoint, or the session's own) the act was recorded in: when
    #: that savepoint, or one around it, rolls back, the act did not happen and its record goes too.
    within: Any = field(default=None, repr=False)

    @property
    def seq(self) -> int:
        if self.written is None:
            raise RuntimeError("the audit record has no sequence number until its transaction commits")
        return self.written.seq

    def then(self, callback: Callable[[AuditRecord], None]) -> None:
        if self.written is not None:
            callback(self.written)
        else:
            self._callbacks.append(callback)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str = "",
    details: dict[str, Any] | None = None,
    clock: Clock | None = None,
) -> PendingRecord:
    """Append a record to the caller's transaction; it joins the chain when that transaction commits.

    Why at commit: the chain has one head row, and every writer must lock it. Taken mid-transaction,
    it was locked before some rows and after others (a review locked its case then the head, a scan
    the head then its case), and PostgreSQL deadlocked under load. Taken in `before_commit`, the head
    is always the last lock any transaction takes, and it is held only for the commit itself.
    """
    at = (clock or SystemClock()).now()
    details_json = json.dumps(details or {}, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    pending = PendingRecord(at, actor, action, subject, details_json,
                            within=session.get_nested_transaction() or session.get_transaction())
    session.info.setdefault(_PENDING, []).append(pending)
    return pending


def write_pending(session: Session) -> list[AuditRecord]:
    """Give the transaction's pending records their places in the chain (the head is locked here, last)."""
    pending: list[PendingRecord] = session.info.pop(_PENDING, [])
    if not pending:
        return []
    head = _lock_head(session)
    written = []
    for item in pending:
        seq = head.seq + 1
        digest = record_hash(seq, item.at, item.actor, item.action, item.subject, item.details, head.hash)
        entry = AuditRecord(seq=seq, at=item.at, actor=item.actor, action=item.action, subject=item.subject,
                            details=item.details, prev_hash=head.hash, hash=digest)
        session.add(entry)
        head.seq, head.hash = seq, digest
        item.written = entry
        written.append(entry)
    session.flush()
    for item in pending:
        for callback in item._callbacks:
            callback(item.written)  # type: ignore[arg-type]
    session.flush()
    return written


@event.listens_for(Session, "before_commit")
def _append_at_commit(session: Session) -> None:
    """At the real commit only: SQLAlchemy fires this when a savepoint is released too, and writing then
    would lock the head mid-transaction and put acts outside the savepoint at the mercy of an outer one."""
    if session.in_nested_transaction():
        return
    write_pending(session)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, previous_transaction: Any) -> None:
    """A rollback: the acts recorded inside what rolled back did not happen, so their records go.

    The whole transaction rolled back: every pending record goes. A savepoint rolled back: only the
    records of acts recorded inside it (or inside savepoints within it); acts before it still stand.
    (SQLAlchemy's `after_rollback` fires for a savepoint too, so it would drop those as well.)"""
    pending: list[PendingRecord] = session.info.get(_PENDING, [])
    if not pending:
        return
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
    else:
        session.info[_PENDING] = [p for p in pending if not inside(p.within, previous_transaction)]


def inside(transaction: Any, outer: Any) -> bool:
    """Whether `transaction` is `outer` or a savepoint within it (None: the session's own, outermost)."""
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


def _lock_head(session: Session) -> AuditHead:
    """Take the head row's write lock before reading it, creating it on first use."""
    session.execute(update(AuditHead).where(AuditHead.id == HEAD_ID).values(seq=AuditHead.seq))
    head = session.execute(select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()).scalar_one_or_none()
    if head is None:
        head = AuditHead(id=HEAD_ID, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    return head


def iter_records(session: Session, batch: int = 1000, after: int = 0) -> Iterator[AuditRecord]:
    """The records after `after` in chain order, fetched in batches so a long chain never sits in memory."""
    last = after
    while True:
        rows = session.execute(
            select(AuditRecord).where(AuditRecord.seq > last).order_by(AuditRecord.seq).limit(batch)
        ).scalars().all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify(session: Session, *, after: tuple[int, str] = (0, GENESIS)) -> VerifyResult:
    """Walk the chain from the record after `after` (its sequence number and hash, known good) to the
    head; report the first record whose hash or link is wrong. The default walks the whole chain."""
    expected_seq, expected_prev = after[0] + 1, after[1]
    count = 0
    for entry in iter_records(session, after=after[0]):
        problem = _check(entry, expected_seq, expected_prev)
        if problem is not None:
            broken_seq, reason = problem
            return VerifyResult(False, count, expected_prev, broken_seq, reason)
        expected_prev, expected_seq, count = entry.hash, entry.seq + 1, count + 1
    head = session.get(AuditHead, HEAD_ID)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != expected_prev):
        return VerifyResult(
            False, count, expected_prev, expected_seq, f"records after {expected_seq - 1} are missing (head is at {head.seq})"
        )
    return VerifyResult(True, count, expected_prev)


def _check(entry: AuditRecord, expected_seq: int, expected_prev: str) -> tuple[int, str] | None:
    """The first broken sequence number and why, or None when `entry` links correctly."""
    if entry.seq != expected_seq:
        return expected_seq, f"record {expected_seq} is missing (deleted; the next present is {entry.seq})"
    if entry.prev_hash != expected_prev:
        return entry.seq, "link to the previous record is wrong (a record before it was edited or removed)"
    actual = record_hash(entry.seq, entry.at, entry.actor, entry.action, entry.subject, entry.details, entry.prev_hash)
    if actual != entry.hash:
        return entry.seq, "contents do not match the record's hash (the record was edited)"
    return None
