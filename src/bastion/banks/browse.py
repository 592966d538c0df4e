"""A bank's entries one page at a time: keyset by id, searchable by a hash, never by a table scan.

A bank may hold ten million entries. An offset page walks every row before it, so pages are cut
after the last id seen instead. The search takes one hash (MD5, SHA-1, SHA-256 or PDQ, as hex) and
finds the entries that hold exactly that value through the (signal type, value) index; it shows
hashes and metadata only, never media (a bank holds none).
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.banks.models import Bank, BankEntry, EntrySignal, VideoSignal
from bastion.db import keyset
from bastion.errors import InvalidInput
from bastion.media.video import VPDQ

#: Which signal types a hex value of each length can be (PDQ and SHA-256 are both 64 hex digits).
_TYPES_BY_LENGTH = {32: ("md5",), 40: ("sha1",), 64: ("pdq", "sha256")}
_HEX = re.compile(r"[0-9a-f]+")

Row = tuple[BankEntry, dict[str, str]]

#: What each bank kind means, as the list shows it (never the stored key).
KIND_TITLES = {"match": "Match", "allow": "Allow (suppresses matches)"}


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


def banks_page(session: Session, *, name: str = "", kind: str = "", cursor: str | None = None,
               limit: int | None = None) -> keyset.Page[Bank]:
    """Live banks by name, A to Z. Names are upper case by rule, so the search is upper-cased and compared
    against the unique name index as a prefix range: case-insensitive without a function index."""
    size = keyset.page_size(limit)
    query = select(Bank).where(Bank.deleted_at.is_(None))
    start = keyset.prefix(name, "bank name", 255).upper()
    if start:
        query = query.where(Bank.name >= start, Bank.name.like(keyset.like_prefix(start), escape="\\"))
    if kind:
        if kind not in KIND_TITLES:
            raise InvalidInput(f"There is no bank kind {kind!r}; pick match or allow.")
        query = query.where(Bank.kind == kind)
    after = keyset.after_text(cursor)
    if after is not None:
        query = query.where(Bank.name > after)
    banks = list(session.scalars(query.order_by(Bank.name).limit(size + 1)))
    return keyset.cut(banks, size, lambda b: [b.name])


def counts_for(session: Session, banks: list[Bank]) -> dict[int, int]:
    """Entries per bank, for the banks shown only (counting every bank would read every entry)."""
    ids = [b.id for b in banks]
    if not ids:
        return {}
    rows = session.execute(select(BankEntry.bank_id, func.count()).where(BankEntry.bank_id.in_(ids))
                           .group_by(BankEntry.bank_id))
    return {bank_id: count for bank_id, count in rows.all()}


def entries_after(session: Session, bank: Bank, *, cursor: str | None = None, offset: int = 0,
                  limit: int = 100) -> keyset.Page[Row]:
    """The API's entry list, oldest first (its order since the start), cut after the cursor's id.

    `offset` is kept for clients written before cursors; it cannot be combined with a cursor, and
    every page names the next cursor either way, so a client can leave offsets after one page."""
    after = keyset.after_id(cursor)
    if after is not None and offset:
        raise InvalidInput("Page with either a cursor or an offset, not both; follow the cursor from the last page.")
    query = select(BankEntry).where(BankEntry.bank_id == bank.id)
    if after is not None:
        query = query.where(BankEntry.id > after)
    entries = list(session.scalars(query.order_by(BankEntry.id).offset(offset).limit(limit + 1)))
    page = keyset.cut(entries, limit, lambda e: [e.id])
    return keyset.Page(with_signals(session, page.rows), page.next_cursor)
