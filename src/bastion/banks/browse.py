"""A bank's entries one page at a time: keyset by id, searchable by a hash, never by a table scan.

A bank may hold ten million entries. An offset page walks every row before it, so pages are cut
after the last id seen instead. The search takes one hash (MD5, SHA-1, SHA-256 or PDQ, as hex) and
finds the entries that hold exactly that value through the (signal type, value) index; it shows
hashes and metadata only, never media (a bank holds none).
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.banks.models import Bank, BankEntry, EntrySignal, VideoSignal
from bastion.db import keyset
from bastion.errors import InvalidInput
from bastion.media.video import VPDQ

#: Which signal types a hex value of each length can be (PDQ and SHA-256 are both 64 hex digits).
_TYPES_BY_LENGTH = {32: ("md5",), 40: ("sha1",), 64: ("pdq", "sha256")}
_HEX = re.compile(r"[0-9a-f]+")

Row = tuple[BankEntry, dict[str, str]]


def _candidates(value: str) -> tuple[tuple[str, ...], str]:
    text = value.strip().lower()
    types = _TYPES_BY_LENGTH.get(len(text))
    if types is None or not _HEX.fullmatch(text):
        raise InvalidInput("Search by one whole hash in hex: MD5 (32 digits), SHA-1 (40), or SHA-256 or PDQ (64).")
    return types, text


def entries_page(session: Session, bank: Bank, *, hash_value: str = "", cursor: str | None = None,
                 limit: int | None = None) -> keyset.Page[Row]:
    """One page of the bank's entries, newest first, each with its signals by type."""
    size = keyset.page_size(limit)
    query = select(BankEntry).where(BankEntry.bank_id == bank.id)
    if hash_value.strip():
        types, value = _candidates(hash_value)
        holding = select(EntrySignal.entry_id).where(EntrySignal.signal_type.in_(types), EntrySignal.value == value)
        query = query.where(BankEntry.id.in_(holding))
    after = keyset.after_id(cursor)
    if after is not None:
        query = query.where(BankEntry.id < after)
    entries = list(session.scalars(query.order_by(BankEntry.id.desc()).limit(size + 1)))
    page = keyset.cut(entries, size, lambda e: [e.id])
    return keyset.Page(with_signals(session, page.rows), page.next_cursor)


def with_signals(session: Session, entries: list[BankEntry]) -> list[Row]:
    signals: dict[int, dict[str, str]] = {e.id: {} for e in entries}
    if entries:
        for entry_id, kind, value, features in session.execute(
                select(EntrySignal.entry_id, EntrySignal.signal_type, EntrySignal.value, VideoSignal.features)
                .outerjoin(VideoSignal, VideoSignal.signal_id == EntrySignal.id)
                .where(EntrySignal.entry_id.in_(list(signals)))).all():
            signals[entry_id][kind] = features if kind == VPDQ and features is not None else value
    return [(e, signals[e.id]) for e in entries]
