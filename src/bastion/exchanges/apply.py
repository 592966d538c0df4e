"""Applying one page of upstream records to the exchange's banks, in the caller's transaction.

The common cases go in bulk: records already held and unchanged only have their
`last_seen` moved (one UPDATE per chunk), and new records become bank entries, signals,
PDQ change-log rows and provenance rows through plain `executemany` inserts with
reserved ids (`bastion.db.ids`), as the streamed bank import does. The rare cases (a
record whose hashes or labels changed, one reappearing after removal, one whose hashes
the bank holds only in part) take the ORM path one by one, after the bulk writes, and
removals come last so that an entry another record of the same page now holds stays.

An entry is removed only when an exchange made it (`source` is `exchange:<name>`) and no
live provenance row of any exchange still holds it; entries people added are never removed, and
an exchange's entry a person deleted is not added back while the upstream record stays.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bastion.banks import service as banks
from bastion.banks.models import Bank, BankEntry, EntrySignal, SignalChange, signals_in
from bastion.banks.signals import normalise
from bastion.clock import Clock
from bastion.db.engine import refuse_unstorable
from bastion.db.ids import lock_for_write, reserve_ids
from bastion.errors import BastionError, InvalidInput
from bastion.exchanges.models import Exchange, ExchangeItem
from bastion.exchanges.types import ExchangeType, Upstream
from bastion.media import PDQ, MediaError
from bastion.media.video import VPDQ

log = logging.getLogger(__name__)

SOURCE_PREFIX = "exchange:"
CHUNK = 500
T = TypeVar("T")


@dataclass
class PageCounts:
    added: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def apply_page(session: Session, exchange: Exchange, kind: ExchangeType, settings: dict[str, Any],
               bank_ids: list[int], updates: dict[Any, Any], generation: int, clock: Clock) -> PageCounts:
    counts = PageCounts()
    upserts: list[tuple[Upstream, dict[str, str]]] = []
    removals: list[str] = []
    for key, value in updates.items():
        upstream = kind.translate(key, value, settings)
        if upstream is None:
            continue
        if upstream.skipped:
            counts.skipped += 1
            log.info("exchange item skipped", extra={"exchange": exchange.name, "upstream_id": upstream.upstream_id,
                                                     "reason": "malformed"})
        elif upstream.signals is None:
            removals.append(upstream.upstream_id[:255])
        else:
            clean = _clean(upstream, exchange.name)
            if clean:
                upserts.append((upstream, clean))
            else:
                counts.skipped += 1
    banks_fed = list(session.scalars(select(Bank).where(Bank.id.in_(bank_ids), Bank.deleted_at.is_(None))))
    for bank in banks_fed:
        _apply_to_bank(session, exchange, bank, upserts, removals, generation, clock, counts)
    return counts


def _clean(upstream: Upstream, exchange_name: str) -> dict[str, str]:
    """The record's signals that pass Bastion's checks; a bad one is dropped and counted, its value never logged."""
    clean: dict[str, str] = {}
    for kind, value in (upstream.signals or {}).items():
        try:
            normal_kind, normal_value = normalise(kind, value)
            if normal_kind == VPDQ:  # the bulk path stores values whole; exchanged video signals are not taken yet
                raise InvalidInput("vPDQ signals from exchanges are not imported")
        except (BastionError, MediaError):
            log.info("exchange signal skipped", extra={"exchange": exchange_name, "upstream_id": upstream.upstream_id,
                                                       "signal_type": kind, "reason": "invalid value"})
            continue
        clean[normal_kind] = normal_value
    return clean


def _apply_to_bank(session: Session, exchange: Exchange, bank: Bank, upserts: list[tuple[Upstream, dict[str, str]]],
                   removals: list[str], generation: int, clock: Clock, counts: PageCounts) -> None:
    now = clock.now()
    lock_for_write(session, Bank.__table__, bank.id)  # one writer per bank (SQLite: before reserving ids)
    held = _items(session, exchange.id, bank.id, [u.upstream_id[:255] for u, _ in upserts])
    unchanged: list[int] = []
    one_by_one: list[tuple[Upstream, dict[str, str]]] = []
    fresh: list[tuple[Upstream, dict[str, str]]] = []
    for upstream, clean in upserts:
        row = held.get(upstream.upstream_id[:255])
        if row is None:
            fresh.append((upstream, clean))
        elif row.removed_at is None and row.entry_id is None:  # a person deleted its entry here: that stands
            unchanged.append(row.id)
        elif (row.removed_at is None and row.signals_json == _signals_json(clean)
              and row.labels_json == _labels_json(upstream.labels)):
            unchanged.append(row.id)
        else:
            one_by_one.append((upstream, clean))
    for chunk in _chunks(unchanged):
        session.execute(update(ExchangeItem).where(ExchangeItem.id.in_(chunk))
                        .values(last_seen=now, generation=generation))
    one_by_one += _insert_fresh(session, exchange, bank, fresh, generation, now, counts)
    for upstream, clean in one_by_one:
        outcome = upsert_one(session, exchange, bank, upstream, clean, generation, clock)
        if outcome == "added":
            counts.added += 1
        elif outcome == "updated":
            counts.updated += 1
    for upstream_id in removals:
        counts.deleted += remove_one(session, exchange, bank.id, upstream_id, clock)


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _items(session: Session, exchange_id: int, bank_id: int, upstream_ids: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for chunk in _chunks(upstream_ids):
        for row in session.execute(select(
                ExchangeItem.id, ExchangeItem.upstream_id, ExchangeItem.entry_id, ExchangeItem.signals_json,
                ExchangeItem.labels_json, ExchangeItem.removed_at).where(
                ExchangeItem.exchange_id == exchange_id, ExchangeItem.bank_id == bank_id,
                ExchangeItem.upstream_id.in_(chunk))).all():
            found[row.upstream_id] = row
    return found


def _insert_fresh(session: Session, exchange: Exchange, bank: Bank, fresh: list[tuple[Upstream, dict[str, str]]],
                  generation: int, now: Any, counts: PageCounts) -> list[tuple[Upstream, dict[str, str]]]:
    """Records with no provenance row yet, in bulk; returns those that need the one-by-one path."""
    if not fresh:
        return []
    pairs = list({pair for _, clean in fresh for pair in clean.items()})
    known: dict[tuple[str, str], Any] = {}  # (type, value) -> an existing entry id, or ("new", n)
    for chunk in _chunks(pairs, 2000):
        for kind, value, entry_id in session.execute(
                select(EntrySignal.signal_type, EntrySignal.value, EntrySignal.entry_id)
                .where(EntrySignal.bank_id == bank.id, signals_in(chunk))).all():
            known[(kind, value)] = entry_id
    later: list[tuple[Upstream, dict[str, str]]] = []
    linked: list[tuple[Upstream, dict[str, str], Any]] = []
    created: list[tuple[Upstream, dict[str, str]]] = []
    for upstream, clean in fresh:
        holders = {known.get(pair) for pair in clean.items()}
        if holders == {None}:
            marker = ("new", len(created))
            created.append((upstream, clean))
            known.update({pair: marker for pair in clean.items()})
            linked.append((upstream, clean, marker))
        elif len(holders) == 1:  # every hash already in the bank, on one entry: link to it
            linked.append((upstream, clean, holders.pop()))
        else:  # held in part, or across entries: the ORM path adds what is missing
            later.append((upstream, clean))
    entry_ids = reserve_ids(session, BankEntry.__table__, len(created))
    signal_count = sum(len(clean) for _, clean in created)
    signal_ids = iter(reserve_ids(session, EntrySignal.__table__, signal_count))
    source, actor = (SOURCE_PREFIX + exchange.name)[:255], (SOURCE_PREFIX + exchange.name)[:200]
    stamp = _bound(session, BankEntry.__table__.c.added_at, now)
    change_stamp = _bound(session, SignalChange.__table__.c.at, now)
    item_stamp = _bound(session, ExchangeItem.__table__.c.first_seen, now)
    name_json = json.dumps(exchange.name)
    labels_text: dict[int, str] = {}  # id(labels) -> its JSON: a page's records often share one labels dict
    entries, signals, changes = [], [], []
    for entry_id, (upstream, clean) in zip(entry_ids, created):
        labels = labels_text.setdefault(id(upstream.labels), _labels_json(upstream.labels))
        entries.append((entry_id, bank.id, upstream.upstream_id[:255], source,
                        str(upstream.labels.get("classification", ""))[:64], "",
                        _metadata_json(name_json, upstream.upstream_id, labels), True, stamp, actor))
        for kind, value in clean.items():
            signal_id = next(signal_ids)
            signals.append((signal_id, entry_id, bank.id, kind, value))
            if kind == PDQ:
                changes.append((signal_id, kind, value, "add", change_stamp))
    items = [(exchange.id, bank.id, upstream.upstream_id[:255],
              entry_ids[target[1]] if isinstance(target, tuple) else target, _signals_json(clean),
              labels_text.get(id(upstream.labels)) or _labels_json(upstream.labels), generation, item_stamp,
              item_stamp, None)
             for upstream, clean, target in linked]
    refuse_unstorable(None, None, "", [row[2:5] for row in entries] + [row[2:3] for row in items], None,
                      True)  # the engine's check on free text, once a page
    _insert_rows(session, BankEntry.__table__, ("id", "bank_id", "external_id", "source", "classification", "note",
                                                "metadata_json", "enabled", "added_at", "added_by"), entries)
    _insert_rows(session, EntrySignal.__table__, ("id", "entry_id", "bank_id", "signal_type", "value"), signals)
    _insert_rows(session, SignalChange.__table__, ("signal_id", "signal_type", "value", "op", "at"), changes)
    _insert_rows(session, ExchangeItem.__table__, ("exchange_id", "bank_id", "upstream_id", "entry_id",
                                                   "signals_json", "labels_json", "generation", "first_seen",
                                                   "last_seen", "removed_at"), items)
    counts.added += len(items)
    return later


def _bound(session: Session, column: Any, value: Any) -> Any:
    """`value` as the column's type stores it (rendered once per page, not once per row)."""
    dialect = session.get_bind().dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process else value


def _insert_rows(session: Session, table: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Plain tuples through the driver's own `executemany`, in the session's transaction.

    Measured on a 50k-hash list: SQLAlchemy's per-row parameter processing (dicts, the timestamp type,
    the engine's per-value check) cost more than the database itself. Values here are validated hashes,
    reserved ids, JSON text and timestamps already rendered by their column type; free text gets the
    engine's check (`refuse_unstorable`) once per page.
    """
    if not rows:
        return
    session.flush()  # what the ORM holds goes first, in order
    dialect = session.get_bind().dialect
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def _signals_json(clean: dict[str, str]) -> str:
    """`json.dumps(clean, sort_keys=True)`, without the encoder: names and hex values need no escaping."""
    return "{" + ", ".join(f'"{kind}": "{value}"' for kind, value in sorted(clean.items())) + "}"


def _labels_json(labels: dict[str, Any]) -> str:
    return _dumps(labels) if labels else "{}"


def _metadata_json(name_json: str, upstream_id: str, labels_json: str) -> str:
    """`json.dumps(metadata(...))`, assembled from parts already encoded."""
    uid = json.dumps(upstream_id)
    return (f'{{"collab": {{{name_json}: [{uid}]}}, "json": {{"exchange": {name_json}, "upstream_id": {uid}, '
            f'"labels": {labels_json}}}}}')


def metadata(exchange_name: str, upstream: Upstream) -> dict[str, Any]:
    """HMA's metadata shape (`collab`: exchange -> fetch keys; `json`: free), so HMA clients see the provenance."""
    return {"collab": {exchange_name: [upstream.upstream_id]},
            "json": {"exchange": exchange_name, "upstream_id": upstream.upstream_id, "labels": upstream.labels}}


def upsert_one(session: Session, exchange: Exchange, bank: Bank, upstream: Upstream, clean: dict[str, str],
               generation: int, clock: Clock) -> str:
    """One record through the ORM: "added", "updated" or "same"."""
    now = clock.now()
    item = session.scalar(select(ExchangeItem).where(
        ExchangeItem.exchange_id == exchange.id, ExchangeItem.bank_id == bank.id,
        ExchangeItem.upstream_id == upstream.upstream_id[:255]))
    signals_json, labels_json = _signals_json(clean), _labels_json(upstream.labels)
    if item is not None and item.removed_at is None and item.entry_id is None:  # deleted here by a person
        item.last_seen, item.generation = now, generation
        return "same"
    live = item is not None and item.removed_at is None and item.entry_id is not None
    if item is not None and live and item.signals_json == signals_json:
        item.last_seen, item.generation = now, generation
        if item.labels_json == labels_json:
            return "same"
        item.labels_json = labels_json
        entry = session.get(BankEntry, item.entry_id)
        if entry is not None and entry.source == SOURCE_PREFIX + exchange.name:
            entry.classification = str(upstream.labels.get("classification", ""))[:64]
            entry.metadata_json = json.dumps(metadata(exchange.name, upstream))
        return "updated"
    if item is not None and live:
        release(session, item, exchange, clock)  # its hashes changed upstream: the old entry goes
    entry = banks.add_entry(
        session, bank, clean, actor=SOURCE_PREFIX + exchange.name, clock=clock,
        external_id=upstream.upstream_id, source=SOURCE_PREFIX + exchange.name,
        classification=str(upstream.labels.get("classification", "")), metadata=metadata(exchange.name, upstream),
        audited=False,
    ).entry
    if item is None:
        session.add(ExchangeItem(exchange_id=exchange.id, bank_id=bank.id, upstream_id=upstream.upstream_id[:255],
                                 entry_id=entry.id, signals_json=signals_json, labels_json=labels_json,
                                 generation=generation, first_seen=now, last_seen=now))
        session.flush()
        return "added"
    item.entry_id, item.removed_at, item.signals_json, item.labels_json = entry.id, None, signals_json, labels_json
    item.last_seen, item.generation = now, generation
    return "updated" if live else "added"


def release(session: Session, item: ExchangeItem, exchange: Exchange, clock: Clock) -> None:
    """Unlink the item from its entry; the entry goes when an exchange made it and no live item still holds it."""
    entry_id, item.entry_id = item.entry_id, None
    session.flush()
    if entry_id is None:
        return
    entry = session.get(BankEntry, entry_id)
    if entry is None or not entry.source.startswith(SOURCE_PREFIX):
        return
    holders = session.scalar(select(func.count()).select_from(ExchangeItem).where(
        ExchangeItem.entry_id == entry_id, ExchangeItem.removed_at.is_(None)))
    if not holders:
        banks.delete_entry(session, entry, actor=SOURCE_PREFIX + exchange.name, clock=clock)


def remove_one(session: Session, exchange: Exchange, bank_id: int, upstream_id: str, clock: Clock) -> int:
    item = session.scalar(select(ExchangeItem).where(
        ExchangeItem.exchange_id == exchange.id, ExchangeItem.bank_id == bank_id,
        ExchangeItem.upstream_id == upstream_id[:255]))
    if item is None or item.removed_at is not None:
        return 0
    item.removed_at = clock.now()
    release(session, item, exchange, clock)
    return 1


def sweep(session: Session, exchange: Exchange, generation: int, clock: Clock) -> int:
    """After a complete snapshot: every live item the generation did not see was removed upstream."""
    gone = session.scalars(select(ExchangeItem).where(
        ExchangeItem.exchange_id == exchange.id, ExchangeItem.removed_at.is_(None),
        ExchangeItem.generation < generation)).all()
    for item in gone:
        item.removed_at = clock.now()
        release(session, item, exchange, clock)
    return len(gone)
