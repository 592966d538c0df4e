"""What the banks hold, counted: signals per type, the newest entry, the change log's head.

Index status pages and APIs compare these with what an in-memory index was built to.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.banks.models import Bank, BankEntry, EntrySignal, SignalChange


def signal_stats(session: Session, signal_type: str) -> tuple[int, datetime | None]:
    """(signals of this type in banks not deleted, when the newest of their entries was added)."""
    count, newest = session.execute(
        select(func.count(EntrySignal.id), func.max(BankEntry.added_at))
        .join(BankEntry, BankEntry.id == EntrySignal.entry_id).join(Bank, Bank.id == EntrySignal.bank_id)
        .where(EntrySignal.signal_type == signal_type, Bank.deleted_at.is_(None))
    ).one()
    return int(count or 0), newest


def signal_count(session: Session, signal_type: str) -> int:
    """Every stored signal of this type, deleted banks included (what a full index build reads)."""
    return int(session.scalar(select(func.count(EntrySignal.id)).where(EntrySignal.signal_type == signal_type)) or 0)


def newest_change(session: Session, signal_type: str | None = None) -> int:
    """The sequence number of the newest change log row, of one signal type if given (0 when there is none)."""
    query = select(func.max(SignalChange.seq))
    if signal_type is not None:
        query = query.where(SignalChange.signal_type == signal_type)
    return int(session.scalar(query) or 0)


def change_time(session: Session, seq: int) -> datetime | None:
    """When change `seq` was logged (None for 0 or an unknown one)."""
    return session.scalar(select(SignalChange.at).where(SignalChange.seq == seq)) if seq else None
