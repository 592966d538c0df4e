"""Creating, changing and reading banks and their entries. Every change is audited."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.banks.errors import BankExists, BankNotFound, EntryNotFound, InvalidBankName
from bastion.banks.models import Bank, BankEntry, EntrySignal, SignalChange, VideoSignal, signals_in
from bastion.banks.signals import normalise, stored_value
from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.media import PDQ
from bastion.media.video import VPDQ

#: Signal types kept in an in-memory index, which the change log keeps current.
INDEXED_TYPES = (PDQ, VPDQ)

#: HMA's rule, kept so that HMA clients can address every Bastion bank.
NAME_PATTERN = re.compile(r"[A-Z_][A-Z0-9_]*")
KINDS = ("match", "allow")
#: The largest entry id the database can hold; a larger one names no entry (and must not reach a query).
MAX_ENTRY_ID = 2**63 - 1


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name) or len(name) > 255:
        raise InvalidBankName(
            f"Bank name {name!r} is not allowed: use UPPER_CASE letters, digits and underscores, "
            "not starting with a digit (for example NCMEC_HASHES)."
        )
    return name


def check_threshold(value: int) -> int:
    if not 0 <= value <= 64:
        raise InvalidInput(f"A PDQ threshold must be between 0 and 64 bits; {value} is not.")
    return value


def check_percent(value: float) -> float:
    if not 0.0 <= value <= 100.0:
        raise InvalidInput(f"A video match percentage must be between 0 and 100; {value} is not.")
    return float(value)


def create_bank(
    session: Session, *, name: str, actor: str, clock: Clock, kind: str = "match", pdq_threshold: int = 31,
    description: str = "", source: str = "", enabled: bool = True, matching_enabled_ratio: float = 1.0,
    vpdq_query_match_percent: float = 80.0, vpdq_compared_match_percent: float = 0.0,
) -> Bank:
    check_name(name)
    if kind not in KINDS:
        raise InvalidInput(f"Bank kind must be 'match' or 'allow', not {kind!r}.")
    if session.scalar(select(Bank.id).where(Bank.name == name)):
        raise BankExists(f"A bank named {name} already exists.")
    now = clock.now()
    bank = Bank(name=name, kind=kind, pdq_threshold=check_threshold(pdq_threshold), description=description,
                source=source, enabled=enabled, matching_enabled_ratio=matching_enabled_ratio, created_at=now,
                updated_at=now, vpdq_query_match_percent=check_percent(vpdq_query_match_percent),
                vpdq_compared_match_percent=check_percent(vpdq_compared_match_percent))
    session.add(bank)
    session.flush()
    audit.record(session, actor=actor, action="bank.create", subject=f"bank:{bank.id}",
                 details={"name": name, "kind": kind, "pdq_threshold": pdq_threshold}, clock=clock)
    return bank


def get_bank(session: Session, name: str) -> Bank:
    bank = session.scalar(select(Bank).where(Bank.name == name, Bank.deleted_at.is_(None)))
    if bank is None:
        raise BankNotFound(f"No bank named {name!r}.")
    return bank


def get_bank_by_id(session: Session, bank_id: int) -> Bank:
    bank = session.get(Bank, bank_id)
    if bank is None or bank.deleted_at is not None:
        raise BankNotFound(f"No bank with id {bank_id}.")
    return bank


def list_banks(session: Session) -> list[Bank]:
    return list(session.scalars(select(Bank).where(Bank.deleted_at.is_(None)).order_by(Bank.id)))


def entry_counts(session: Session) -> dict[int, int]:
    rows = session.execute(select(BankEntry.bank_id, func.count()).group_by(BankEntry.bank_id))
    return {bank_id: count for bank_id, count in rows.all()}


def update_bank(session: Session, bank: Bank, *, actor: str, clock: Clock, **changes: Any) -> Bank:
    """Change any of name, kind, pdq_threshold, description, source, enabled, matching_enabled_ratio and the
    video-match percentages."""
    allowed = {"name", "kind", "pdq_threshold", "description", "source", "enabled", "matching_enabled_ratio",
               "vpdq_query_match_percent", "vpdq_compared_match_percent"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(f"Cannot change {', '.join(sorted(unknown))} of a bank.")
    applied: dict[str, Any] = {}
    for key, value in changes.items():
        if value is None or getattr(bank, key) == value:
            continue
        if key == "name":
            check_name(value)
            if session.scalar(select(Bank.id).where(Bank.name == value)):
                raise BankExists(f"A bank named {value} already exists.")
        if key == "pdq_threshold":
            check_threshold(value)
        if key.startswith("vpdq_"):
            check_percent(value)
        if key == "kind" and value not in KINDS:
            raise InvalidInput(f"Bank kind must be 'match' or 'allow', not {value!r}.")
        applied[key] = {"from": getattr(bank, key), "to": value}
        setattr(bank, key, value)
    if applied:
        bank.updated_at = clock.now()
        audit.record(session, actor=actor, action="bank.update", subject=f"bank:{bank.id}", details=applied,
                     clock=clock)
    return bank


def delete_bank(session: Session, bank: Bank, *, actor: str, clock: Clock) -> None:
    """Soft delete: the bank stops matching and disappears from lists; its rows stay for the record.

    The name is freed (suffixed with the id) so a new bank may take it.
    """
    old_name = bank.name
    bank.deleted_at = clock.now()
    bank.name = f"{old_name}__DELETED_{bank.id}"[:255]
    bank.enabled = False
    audit.record(session, actor=actor, action="bank.delete", subject=f"bank:{bank.id}", details={"name": old_name},
                 clock=clock)


@dataclass(frozen=True)
class AddResult:
    entry: BankEntry
    created: bool
    signals: dict[str, str]


def add_entry(
    session: Session, bank: Bank, signals: dict[str, str], *, actor: str, clock: Clock, external_id: str = "",
    source: str = "", classification: str = "", note: str = "", metadata: dict[str, Any] | None = None,
    audited: bool = True,
) -> AddResult:
    """Add an item with its signals. A value already in the bank is a no-op that returns its entry."""
    clean = dict(normalise(kind, value) for kind, value in signals.items())
    if not clean:
        raise InvalidInput("No signals given: send at least one of pdq, md5, sha1, sha256, vpdq.")
    existing = session.execute(
        select(EntrySignal.entry_id, EntrySignal.signal_type).where(
            EntrySignal.bank_id == bank.id, signals_in((k, stored_value(k, v)) for k, v in clean.items())
        )
    ).all()
    known = {kind for entry_id, kind in existing}
    if existing:
        entry = session.get(BankEntry, existing[0][0])
        assert entry is not None
        _add_signals(session, bank, entry, {k: v for k, v in clean.items() if k not in known}, clock)
        return AddResult(entry, False, clean)
    entry = BankEntry(bank_id=bank.id, external_id=external_id[:255], source=source[:255],
                      classification=classification[:64], note=note,
                      metadata_json=json.dumps(metadata) if metadata else "", enabled=True, added_at=clock.now(),
                      added_by=actor[:200])
    session.add(entry)
    session.flush()
    _add_signals(session, bank, entry, clean, clock)
    if audited:
        audit.record(session, actor=actor, action="bank.entry_add", subject=f"entry:{entry.id}",
                     details={"bank": bank.name, "signals": sorted(clean)}, clock=clock)
    return AddResult(entry, True, clean)


def _add_signals(session: Session, bank: Bank, entry: BankEntry, signals: dict[str, str], clock: Clock) -> None:
    for kind, value in signals.items():
        key = stored_value(kind, value)
        signal = EntrySignal(entry_id=entry.id, bank_id=bank.id, signal_type=kind, value=key)
        session.add(signal)
        session.flush()
        if kind == VPDQ:
            session.add(VideoSignal(signal_id=signal.id, features=value, frame_count=len(json.loads(value))))
        if kind in INDEXED_TYPES:
            session.add(SignalChange(signal_id=signal.id, signal_type=kind, value=key, op="add", at=clock.now()))


def get_entry(session: Session, entry_id: int, bank: Bank | None = None) -> BankEntry:
    entry = session.get(BankEntry, entry_id) if 0 < entry_id <= MAX_ENTRY_ID else None
    if entry is None or (bank is not None and entry.bank_id != bank.id):
        raise EntryNotFound(f"No entry {entry_id}" + (f" in bank {bank.name}." if bank else "."))
    return entry


def entry_signals(session: Session, entry_id: int) -> dict[str, str]:
    """An entry's signals by type, vPDQ as its full signal string."""
    rows = session.execute(select(EntrySignal.signal_type, EntrySignal.value, VideoSignal.features)
                           .outerjoin(VideoSignal, VideoSignal.signal_id == EntrySignal.id)
                           .where(EntrySignal.entry_id == entry_id))
    return {kind: features if kind == VPDQ and features is not None else value for kind, value, features in rows.all()}


def set_entry_enabled(
    session: Session, entry: BankEntry, enabled: bool, *, actor: str, clock: Clock, reason: str = "",
    until: datetime | None = None,
) -> None:
    """Enable or disable an entry (optionally until a time); disabled entries never match."""
    entry.enabled, entry.disabled_until = enabled, (None if enabled else until)
    audit.record(session, actor=actor, action="bank.entry_enable" if enabled else "bank.entry_disable",
                 subject=f"entry:{entry.id}", details={"reason": reason, "until": until}, clock=clock)


def set_entry_note(session: Session, entry: BankEntry, note: str, *, actor: str, clock: Clock) -> None:
    """Change an entry's free-text note (audited when it changes)."""
    if note == entry.note:
        return
    entry.note = note
    bank = session.get(Bank, entry.bank_id)
    audit.record(session, actor=actor, action="bank.entry_note", subject=f"entry:{entry.id}",
                 details={"bank": bank.name if bank else entry.bank_id}, clock=clock)


def entry_metadata(entry: BankEntry) -> dict[str, Any] | None:
    """The metadata an entry was added with, or None (also when what is stored is not a JSON object)."""
    try:
        value = json.loads(entry.metadata_json) if entry.metadata_json else None
    except ValueError:
        return None
    return value if isinstance(value, dict) and value else None


def matching_ratios(session: Session, bank_ids: set[int]) -> dict[int, float]:
    """Each bank's `matching_enabled_ratio`: the share of lookups it takes part in."""
    if not bank_ids:
        return {}
    rows = session.execute(select(Bank.id, Bank.matching_enabled_ratio).where(Bank.id.in_(bank_ids))).all()
    return {bank_id: float(ratio) for bank_id, ratio in rows}


def delete_entry(session: Session, entry: BankEntry, *, actor: str, clock: Clock) -> None:
    """Remove an entry and its signals for good; PDQ indexes are told through the change log."""
    signals = session.execute(
        select(EntrySignal.id, EntrySignal.signal_type).where(EntrySignal.entry_id == entry.id)
    ).all()
    for signal_id, kind in signals:
        if kind in INDEXED_TYPES:
            session.add(SignalChange(signal_id=signal_id, signal_type=kind, op="remove", at=clock.now()))
    videos = [signal_id for signal_id, kind in signals if kind == VPDQ]
    if videos:  # not left to ON DELETE CASCADE, which SQLite applies only with its foreign keys on
        session.execute(delete(VideoSignal).where(VideoSignal.signal_id.in_(videos)))
    session.execute(delete(EntrySignal).where(EntrySignal.entry_id == entry.id))
    session.delete(entry)
    audit.record(session, actor=actor, action="bank.entry_delete", subject=f"entry:{entry.id}",
                 details={"bank_id": entry.bank_id}, clock=clock)
