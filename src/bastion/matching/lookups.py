"""Lookups beyond the scan pipeline's: raw index hits, and loading the index when a lookup first needs it.

`raw_hits` answers "which entries does the index hold near this hash?" without the
entry state the scan pipeline applies (a disabled entry is still a hit); bank state
is applied (deleted, switched-off and allow banks are skipped; each bank's own PDQ
threshold holds). An operator tool, a worker or HMA's ``raw_lookup`` asks the same.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.banks.models import Bank, EntrySignal
from bastion.matching.banked import BankMatcher
from bastion.matching.video import VideoMatch
from bastion.media.video import VpdqFeature
from bastion.media import PDQ

log = logging.getLogger(__name__)

#: Where an application keeps its :class:`IndexLoad` among its services.
INDEX_LOAD = "matching.index_load"


def _live_match_banks() -> list[Any]:
    return [Bank.deleted_at.is_(None), Bank.enabled, Bank.kind == "match"]


def raw_hits(session: Session, matcher: BankMatcher, signal_type: str, value: str, *, exact: bool,
             banks: Iterable[str] | None = None) -> list[tuple[int, int | None]]:
    """(entry id, PDQ distance or None) of every hit in the live match banks, each entry once.

    Exact types are looked up in the database; PDQ in the in-memory index, which must
    be loaded (see :class:`IndexLoad`).
    """
    wanted = set(banks) if banks is not None else None
    if exact:
        rows = session.execute(
            select(EntrySignal.entry_id, Bank.name).join(Bank, Bank.id == EntrySignal.bank_id)
            .where(EntrySignal.signal_type == signal_type, EntrySignal.value == value, *_live_match_banks())
            .order_by(EntrySignal.id)
        ).all()
        return list(dict.fromkeys((entry_id, None) for entry_id, name in rows if wanted is None or name in wanted))
    threshold = session.scalar(select(func.max(Bank.pdq_threshold)).where(*_live_match_banks()))
    if threshold is None:
        return []
    found = matcher.raw_pdq([value], int(threshold))[0]
    details = {
        signal_id: (entry_id, name, limit)
        for signal_id, entry_id, name, limit in session.execute(
            select(EntrySignal.id, EntrySignal.entry_id, Bank.name, Bank.pdq_threshold)
            .join(Bank, Bank.id == EntrySignal.bank_id)
            .where(EntrySignal.id.in_([s for s, _ in found]), *_live_match_banks())
        ).all()
    } if found else {}
    hits: dict[int, int] = {}
    for signal_id, distance in found:
        if signal_id not in details:
            continue
        entry_id, name, limit = details[signal_id]
        if distance <= limit and (wanted is None or name in wanted) and entry_id not in hits:
            hits[entry_id] = distance
    return list(hits.items())


def raw_video_hits(session: Session, matcher: BankMatcher, features: list[VpdqFeature], *,
                   banks: Iterable[str] | None = None) -> list[tuple[int, VideoMatch]]:
    """(entry id, how it matched) of every banked video the query matches in the live match banks.

    Each bank's own percentages hold; entry state is not applied (a disabled entry is still a hit).
    """
    thresholds = matcher.video_thresholds(session, match_banks_only=True)
    if not thresholds:
        return []
    found = matcher.query_videos(features, thresholds)
    if not found:
        return []
    wanted = set(banks) if banks is not None else None
    details = dict(session.execute(
        select(EntrySignal.id, EntrySignal.entry_id).join(Bank, Bank.id == EntrySignal.bank_id)
        .where(EntrySignal.id.in_([m.entry for m in found]), *_live_match_banks(),
               *([Bank.name.in_(wanted)] if wanted is not None else []))).all())
    hits: dict[int, VideoMatch] = {}
    for match in found:
        entry_id = details.get(match.entry)  # type: ignore[call-overload]
        if entry_id is not None and entry_id not in hits:
            hits[entry_id] = match
    return list(hits.items())


class IndexLoad:
    """Loads a matcher's PDQ index on a background thread the first time a lookup needs it.

    A server started with background tasks loads the index before serving; a process
    that has not (a bare API worker) starts one load when the first PDQ lookup
    arrives and answers "not ready" until it is done, as HMA's matcher does while its
    cache loads. One load runs at a time; a failed one is tried again by the next lookup.
    """

    def __init__(self, matcher: BankMatcher) -> None:
        self._matcher = matcher
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def ready(self) -> bool:
        """True when the index is in memory; otherwise make sure a load is under way and say False."""
        if self._matcher.ready:
            return True
        with self._lock:
            if not self._matcher.ready and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._load, name="bastion-index-load", daemon=True)
                self._thread.start()
        return False

    def join(self, timeout: float | None = None) -> None:
        """Wait for the load under way, if any (tests, orderly shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _load(self) -> None:
        try:
            self._matcher.load()
        except Exception:  # the next lookup tries again
            log.exception("loading the PDQ index failed")


def indexed_in_live_banks(session: Session, matcher: BankMatcher) -> int:
    """PDQ index entries that belong to banks not deleted (0 before the index is loaded).

    A deleted bank's signals stay in the index (its rows stay for the record) and are
    dropped at query time, so a size reported to operators leaves them out.
    """
    if not matcher.ready:
        return 0
    in_deleted = session.scalar(
        select(func.count(EntrySignal.id)).join(Bank, Bank.id == EntrySignal.bank_id)
        .where(EntrySignal.signal_type == PDQ, Bank.deleted_at.is_not(None))
    )
    return max(0, matcher.status().size - int(in_deleted or 0))
