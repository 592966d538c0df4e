"""Matching signals against the banks in the database, with an in-memory PDQ index.

The PDQ index holds every PDQ signal by its row id. It is loaded once, then kept
current by replaying the `signal_changes` log (adds and removals written in the same
transaction as the bank change), so a new entry matches within a refresh interval in
every process, without a restart and without a rebuild.

With a snapshot store (a local file, or an S3-compatible store shared by many machines: see
:mod:`.store`), start-up maps the newest snapshot (seconds even at ten million hashes, and
shared between the processes of a machine through the page cache) and replays only the
changes logged after it. One process at a time (the `matching.snapshot` timer, or a bulk
import, under a PostgreSQL advisory lock: :mod:`.publish_lock`) compacts its index and
publishes a new snapshot; the others notice the newer generation, fetch and map it and
replay the log onto it in the background, then swap, releasing the old mapping, so memory
does not climb and no query waits. Exact signals (MD5, SHA-1, SHA-256) are looked up in the
database through its index on (type, value).

Index hits are only candidates: bank state (deleted, disabled, its own threshold,
match or allow) and entry state (disabled) are applied from the database on each
query, so a disabled entry stops matching at once, whatever the index holds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from bastion.banks.models import Bank, BankEntry, EntrySignal, SignalChange, VideoSignal, signals_in
from bastion.clock import Clock
from bastion.matching import snapshot
from bastion.matching.index import PDQIndex
from bastion.matching.live import MIHPDQIndex
from bastion.matching.video import VideoIndex, VideoMatch, VideoThresholds
from bastion.matching.publish_lock import publish_lock
from bastion.matching.store import LocalSnapshotStore, Published, SnapshotStore
from bastion.media import PDQ
from bastion.media.video import VPDQ, VpdqFeature, signal_to_features

LOAD_BATCH = 200_000
SYNC_REPLAY_LIMIT = 10_000
"""Changes a query may wait for; a longer backlog is caught up in the background."""
SNAPSHOT_CHECK_SECONDS = 30.0
LOOKBACK = 2_000
"""Changes before a starting point (a snapshot's generation, a build's log position) replayed again.

On PostgreSQL a sequence number is taken at insert and becomes visible at commit, so a slow
transaction can commit a change below one already read. Replaying a window in log order is
harmless (each signal ends as its last change says), and it catches such late commits that the
snapshot's writer or the build could not see.
"""
GAP_SECONDS = 3600.0
"""How long a hole in the sequence (a transaction not yet committed, or rolled back) is watched."""
MAX_GAPS = 1_000
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BankMatch:
    """One bank entry that matched, and how."""

    bank_id: int
    bank_name: str
    bank_kind: str
    entry_id: int
    signal_id: int
    signal_type: str
    value: str
    distance: int
    classification: str
    source: str
    external_id: str
    #: for a vPDQ match: the percentages and the matched stretches of both videos (distance is the best frame's)
    video: VideoMatch | None = None


@dataclass
class MatchOutcome:
    """What a lookup found. `matches` is empty when an allow-bank hit suppressed them."""

    matches: list[BankMatch] = field(default_factory=list)
    allowed: list[BankMatch] = field(default_factory=list)
    suppressed: list[BankMatch] = field(default_factory=list)


@dataclass(frozen=True)
class IndexStatus:
    size: int
    last_change: int
    loaded_at: datetime | None
    refreshed_at: datetime | None
    newest_change_at: datetime | None
    snapshot_generation: int = 0
    snapshot_store: str = ""


class BankMatcher:
    """The matcher one process shares between requests and workers."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        *,
        index_factory: Callable[[], PDQIndex] = MIHPDQIndex,
        refresh_seconds: float = 1.0,
        snapshot_path: Path | None = None,
        store: SnapshotStore | None = None,
        snapshot_check_seconds: float = SNAPSHOT_CHECK_SECONDS,
    ) -> None:
        self._sessions, self._clock = sessions, clock
        self._factory = index_factory
        self._index: PDQIndex | None = None
        self._last_seq = 0
        self._lock = threading.Lock()
        self._refresh_seconds = refresh_seconds
        self._checked_at = 0.0
        if store is None and snapshot_path is not None:
            store = LocalSnapshotStore(snapshot_path)
        self.store = store if index_factory is MIHPDQIndex else None
        self._snapshot_check_seconds = snapshot_check_seconds
        self._snapshot_generation = 0
        self._snapshot_checked = 0.0
        self.loaded_at: datetime | None = None
        self.refreshed_at: datetime | None = None
        self.newest_change_at: datetime | None = None
        self._catch_up: threading.Thread | None = None
        # banked videos' frames: built from the database the first time a video is matched, then kept
        # current from the same change log (vPDQ rows), independently of the PDQ index and its snapshots
        self._videos: VideoIndex | None = None
        self._video_seq = 0
        self._video_checked = 0.0
        self._video_lock = threading.Lock()
        self._swap: threading.Thread | None = None
        self._gaps: list[list[float]] = []  # [first seq, last seq, noticed at] not yet seen in the log

    # -- keeping the index current -------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._index is not None

    @property
    def catching_up(self) -> bool:
        """Whether a background catch-up (replay or rebuild) is running; queries use the current index meanwhile."""
        return self._catch_up is not None and self._catch_up.is_alive()

    @property
    def swapping(self) -> bool:
        """Whether a newer snapshot is being fetched and caught up; the current index stays current meanwhile."""
        return self._swap is not None and self._swap.is_alive()

    def load(self) -> None:
        """Start from the newest usable snapshot, else build from the database.

        A snapshot far behind the change log (a bulk import since it was written) is not worth
        replaying: past `rebuild_is_cheaper` the database is read in one bulk build instead.
        """
        published = self._latest_snapshot()
        if published is not None and not rebuild_is_cheaper(self._newest_seq() - published.generation,
                                                             published.rows):
            prepared = self._prepare_snapshot(published)
            if prepared is not None:
                self._swap_in(*prepared)
                return
        self._build_from_database()

    def _latest_snapshot(self) -> Published | None:
        if self.store is None:
            return None
        try:
            return self.store.latest()
        except snapshot.SnapshotError as exc:
            log.warning("not using the PDQ index snapshot", extra={"store": self.store.describe(), "why": str(exc)})
            return None

    def _newest_seq(self) -> int:
        with self._sessions() as session:
            return int(session.scalar(select(func.max(SignalChange.seq))) or 0)

    def _prepare_snapshot(self, published: Published
                          ) -> tuple[MIHPDQIndex, int, datetime | None, list[list[float]]] | None:
        """Fetch and map the snapshot and replay the change log after it, off to the side (queries go on).

        A bad file or an unreachable store is refused with a warning; the caller keeps what it has.
        """
        assert self.store is not None
        try:
            index = snapshot.load(self.store.local_copy(published))
        except (snapshot.SnapshotError, OSError) as exc:
            log.warning("not using the PDQ index snapshot", extra={"store": self.store.describe(), "why": str(exc)})
            return None
        gaps: list[list[float]] = []
        last_seq, newest_at = self._replay(index, max(0, index.generation - LOOKBACK), gaps)
        return index, last_seq, newest_at, gaps

    def _swap_in(self, index: MIHPDQIndex, last_seq: int, newest_at: datetime | None, gaps: list[list[float]]
                 ) -> None:
        """Make a prepared snapshot index the one queries use, after replaying the few changes logged meanwhile."""
        with self._lock:
            last_seq, at = self._replay(index, last_seq, gaps)
            old, self._index, self._last_seq, self._gaps = self._index, index, last_seq, gaps
            self._snapshot_generation = max(self._snapshot_generation, index.generation)
            self.loaded_at = self.refreshed_at = self._clock.now()
            self.newest_change_at = at or newest_at or self.newest_change_at
            self._checked_at = time.monotonic()
        if old is not None and old is not index and hasattr(old, "close"):
            old.close()
        self._compact_if_needed()

    def write_snapshot(self, *, wait: float = 0.0) -> int | None:
        """Compact this process's index and publish it as the newest snapshot; returns its generation.

        Only one process publishes at a time (the advisory lock): with `wait`, this waits that long
        for another writer to finish. Returns None when nothing was published: the lock stayed busy,
        or the store already holds a snapshot as new as this index.
        """
        if self.store is None:
            return None
        with self._sessions() as session:
            engine = session.get_bind()
        with publish_lock(engine, self.store.lock_file, wait=wait) as held:  # type: ignore[arg-type]
            if not held:
                log.info("another process is publishing the PDQ index snapshot", extra={"store": self.store.describe()})
                return None
            self.refresh()
            index = self._index
            assert isinstance(index, MIHPDQIndex)
            index.compact()
            with self._lock:
                generation = self._last_seq
            latest = self._latest_snapshot()
            if latest is not None and latest.generation >= generation:
                self._snapshot_generation = max(self._snapshot_generation, latest.generation)
                return None
            published = self.store.publish(index, generation)
        self._snapshot_generation = published.generation
        log.info("published the PDQ index snapshot", extra={"generation": published.generation,
                                                             "rows": published.rows, "store": self.store.describe()})
        return published.generation

    def _newer_snapshot(self) -> Published | None:
        """A snapshot another process published after the one this index started from (checked now and then)."""
        if self.store is None or time.monotonic() - self._snapshot_checked < self._snapshot_check_seconds:
            return None
        self._snapshot_checked = time.monotonic()
        published = self._latest_snapshot()
        return published if published is not None and published.generation > self._snapshot_generation else None

    def swap_to_snapshot(self, published: Published) -> None:
        """Fetch, map and catch up a newer snapshot, then swap to it (runs in the background thread)."""
        try:
            prepared = self._prepare_snapshot(published)
            if prepared is not None:
                self._swap_in(*prepared)
            else:  # unusable: do not try the same one again and again
                self._snapshot_generation = max(self._snapshot_generation, published.generation)
        except Exception:  # a background thread has no caller: report, and let the next check retry
            log.exception("could not swap to the newer PDQ index snapshot")

    def _build_from_database(self) -> None:
        """Build the PDQ index from the database and make it current (see `_read_index`)."""
        index, last_seq = self._read_index()
        gaps: list[list[float]] = []
        start, _ = self._replay(index, max(0, last_seq - LOOKBACK), gaps)  # late commits (see LOOKBACK)
        with self._lock:
            old, self._index, self._last_seq, self._gaps = self._index, index, start, gaps
            # as new as any snapshot up to this point of the log: never swap back to an older one
            self._snapshot_generation = max(self._snapshot_generation, last_seq)
            self.loaded_at = self.refreshed_at = self._clock.now()
            self._checked_at = time.monotonic()
        if old is not None and old is not index and hasattr(old, "close"):
            old.close()
        self._compact_if_needed()

    def _read_index(self) -> tuple[PDQIndex, int]:
        """Every PDQ signal in one bulk build (not row-by-row inserts), off to the side.

        Rows are read in batches straight into packed arrays (32 bytes a hash), so the
        peak is the arrays plus the index, never a list of Python objects per row. The
        change-log position is read first: changes logged while the rows are read are
        replayed again afterwards, which is harmless (an add replaces, a removal repeats).
        """
        with self._sessions() as session:
            last_seq = session.scalar(select(func.max(SignalChange.seq))) or 0
            ids, hashes = _read_pdq_signals(session)
        build = getattr(self._factory, "build", None)
        if build is not None:
            return build(ids, hashes), last_seq
        index = self._factory()
        index.add(ids, hashes)
        return index, last_seq

    def refresh(self) -> int:
        """Apply logged changes since the last one seen; returns how many were applied."""
        if self._index is None:
            self.load()
            return 0
        with self._lock:
            before = self._last_seq
            self._last_seq, at = self._replay(self._index, self._last_seq, self._gaps)
            self.newest_change_at = at or self.newest_change_at
            self.refreshed_at = self._clock.now()
            self._checked_at = time.monotonic()
        if self._last_seq != before:
            self._compact_if_needed()
        return self._last_seq - before

    def _replay(self, index: PDQIndex, after: int, gaps: list[list[float]]) -> tuple[int, datetime | None]:
        """Apply to `index` every change logged after `after`, and any that filled a hole since; returns the
        last one applied and when it was logged.

        Holes in the sequence below the newest change read are kept in `gaps` and looked up again on
        every pass for `GAP_SECONDS`: on PostgreSQL a transaction that took its number earlier may
        commit later (a late add cannot trail its own removal: the removal needs the row it commits).
        """
        newest_at = None
        with self._sessions() as session:
            if gaps:
                self._fill_gaps(session, index, gaps)
            while True:
                changes = session.execute(
                    _CHANGES.where(SignalChange.seq > after).order_by(SignalChange.seq).limit(LOAD_BATCH)
                ).all()
                if not changes:
                    break
                _note_gaps(gaps, after, [c.seq for c in changes])
                self._apply(changes, index)
                after, newest_at = changes[-1].seq, changes[-1].at
        return after, newest_at

    def _fill_gaps(self, session: Session, index: PDQIndex, gaps: list[list[float]]) -> None:
        now = time.monotonic()
        gaps[:] = [g for g in gaps if now - g[2] < GAP_SECONDS][-MAX_GAPS:]
        if not gaps:
            return
        late = session.execute(_CHANGES.where(or_(*(SignalChange.seq.between(int(lo), int(hi)) for lo, hi, _ in gaps)))
                               .order_by(SignalChange.seq)).all()
        if not late:
            return
        self._apply(late, index)
        found = sorted(c.seq for c in late)
        left: list[list[float]] = []
        for lo, hi, noticed in gaps:
            start = int(lo)
            for seq in (s for s in found if lo <= s <= hi):
                if seq > start:
                    left.append([start, seq - 1, noticed])
                start = seq + 1
            if start <= hi:
                left.append([start, hi, noticed])
        gaps[:] = left
        log.info("applied changes committed late", extra={"count": len(late)})

    def _apply(self, changes: Sequence[Any], index: PDQIndex | None = None) -> None:
        """Apply changes in log order: each signal ends as its last change says (so replaying a window is harmless)."""
        index = index if index is not None else self._index
        assert index is not None
        last = {c.signal_id: c for c in changes}  # in log order: a later change of a signal replaces an earlier
        touched = np.array([i for i, c in last.items() if c.op == "remove" or c.signal_type == PDQ], dtype=np.int64)
        if touched.size:
            index.remove(touched)  # never twice, and a removal wins over an earlier add in the same batch
        adds = [c for c in last.values() if c.op == "add" and c.signal_type == PDQ]
        if adds:
            index.add(np.array([c.signal_id for c in adds], dtype=np.int64), [c.value for c in adds])

    def _compact_if_needed(self) -> None:
        compact = getattr(self._index, "should_compact", None)
        if compact is not None and compact():
            threading.Thread(target=self._index.compact, name="bastion-index-compact",  # type: ignore[union-attr]
                             daemon=True).start()

    def catch_up(self) -> None:
        """Bring the index to the end of the change log, the cheaper way: replay, or rebuild and swap.

        Runs in the background thread `maybe_refresh` starts for a long backlog; queries keep using
        the index they have until the swap (a rebuild) or see the replay's batches as they land.
        """
        try:
            pending = self._newest_seq() - self._last_seq
            size = len(self._index) if self._index is not None else 0
            if rebuild_is_cheaper(pending, size):
                self._build_from_database()
            self.refresh()
        except Exception:  # a background thread has no caller: report, and let the next query retry
            log.exception("the PDQ index could not catch up with the change log")

    def _start_catch_up(self) -> None:
        with self._lock:
            if self.catching_up:
                return
            self._catch_up = threading.Thread(target=self.catch_up, name="bastion-index-catch-up", daemon=True)
            self._catch_up.start()

    def maybe_refresh(self) -> None:
        """Keep the index current without making a query wait for a long backlog.

        Up to `SYNC_REPLAY_LIMIT` changes are replayed before the query (so a new entry matches within a
        refresh interval); a longer backlog, such as a bulk import, is caught up in the background while
        queries are served from the index as it stands.
        """
        if self._index is None:
            self.load()
            return
        if self.catching_up:
            return
        newer = self._newer_snapshot()
        if newer is not None and not self.swapping:  # fetched, mapped and caught up in the background
            self._swap = threading.Thread(target=self.swap_to_snapshot, args=(newer,), name="bastion-index-swap",
                                          daemon=True)
            self._swap.start()
        if time.monotonic() - self._checked_at < self._refresh_seconds:
            return
        if self._newest_seq() - self._last_seq > SYNC_REPLAY_LIMIT:
            self._checked_at = time.monotonic()
            self._start_catch_up()
        else:
            self.refresh()

    def pending_since(self) -> datetime | None:
        """When the oldest change not yet applied to this index was logged (None: current, or not loaded)."""
        if self._index is None:
            return None
        with self._sessions() as session:
            return session.scalar(select(func.min(SignalChange.at)).where(SignalChange.seq > self._last_seq))

    def status(self) -> IndexStatus:
        return IndexStatus(len(self._index) if self._index is not None else 0, self._last_seq, self.loaded_at,
                           self.refreshed_at, self.newest_change_at, self._snapshot_generation,
                           self.store.describe() if self.store is not None else "")

    # -- lookups -------------------------------------------------------------------

    def raw_pdq(self, hashes: Sequence[str], threshold: int) -> list[list[tuple[int, int]]]:
        """Index hits (signal id, distance) per hash, before any bank or entry state is applied."""
        self.maybe_refresh()
        assert self._index is not None
        return [[(m.entry_id, m.distance) for m in hits] for hits in self._index.query_batch(list(hashes), threshold)]

    def match(self, session: Session, signals: dict[str, str], *, pdq_variants: Iterable[str] = (),
              banks: Iterable[str] | None = None) -> MatchOutcome:
        """Match one item's signals (PDQ variants: rotations and flips of its PDQ) against live banks."""
        return self.match_many(session, [(signals, list(pdq_variants))], banks=banks)[0]

    def match_many(self, session: Session, items: Sequence[tuple[dict[str, str], list[str]]],
                   banks: Iterable[str] | None = None) -> list[MatchOutcome]:
        """Batch form of `match`, for bulk scans and retro-matching."""
        threshold = self._max_threshold(session)
        candidates: list[dict[int, int]] = [{} for _ in items]  # signal id -> best distance, per item
        pdq_rows: list[tuple[int, str]] = []
        for i, (signals, variants) in enumerate(items):
            for value in dict.fromkeys(([signals[PDQ]] if signals.get(PDQ) else []) + list(variants)):
                pdq_rows.append((i, value))
        if pdq_rows and threshold is not None:
            for (i, _), hits in zip(pdq_rows, self.raw_pdq([v for _, v in pdq_rows], threshold)):
                for signal_id, distance in hits:
                    if distance < candidates[i].get(signal_id, 999):
                        candidates[i][signal_id] = distance
        self._exact_candidates(session, items, candidates)
        details = self._load_candidates(session, {s for c in candidates for s in c})
        wanted = set(banks) if banks is not None else None
        return [self._outcome(cands, details, wanted) for cands in candidates]

    def _max_threshold(self, session: Session) -> int | None:
        value = session.scalar(select(func.max(Bank.pdq_threshold)).where(Bank.deleted_at.is_(None), Bank.enabled))
        return None if value is None else int(value)

    def _exact_candidates(self, session: Session, items: Sequence[tuple[dict[str, str], list[str]]],
                          candidates: list[dict[int, int]]) -> None:
        """Exact digests (MD5, SHA-256, ...) by indexed equality (see `signals_in`)."""
        pairs: dict[tuple[str, str], list[int]] = {}
        for i, (signals, _) in enumerate(items):
            for kind, value in signals.items():
                if kind != PDQ and value:
                    pairs.setdefault((kind, value), []).append(i)
        keys = list(pairs)
        for start in range(0, len(keys), 1000):
            rows = session.execute(
                select(EntrySignal.id, EntrySignal.signal_type, EntrySignal.value)
                .where(signals_in(keys[start:start + 1000]))
            ).all()
            for signal_id, kind, value in rows:
                for i in pairs[(kind, value)]:
                    candidates[i][signal_id] = 0

    def _load_candidates(self, session: Session, signal_ids: set[int]) -> dict[int, tuple]:  # type: ignore[type-arg]
        found: dict[int, tuple] = {}  # type: ignore[type-arg]
        ids = sorted(signal_ids)
        now = self._clock.now()
        for start in range(0, len(ids), 1000):
            rows = session.execute(
                select(EntrySignal, BankEntry, Bank)
                .join(BankEntry, BankEntry.id == EntrySignal.entry_id)
                .join(Bank, Bank.id == EntrySignal.bank_id)
                .where(EntrySignal.id.in_(ids[start:start + 1000]), Bank.deleted_at.is_(None), Bank.enabled,
                       or_(BankEntry.enabled, BankEntry.disabled_until <= now))
            ).all()
            for signal, entry, bank in rows:
                found[signal.id] = (signal, entry, bank)
        return found

    # -- videos (vPDQ) ----------------------------------------------------------------

    def video_index(self) -> VideoIndex:
        """The banked videos' frames, loaded on first use and brought up to date at most once a refresh interval.

        Query it through :meth:`query_videos`, which holds the lock a refresh takes.
        """
        with self._video_lock:
            return self._current_videos()

    def _current_videos(self) -> VideoIndex:
        if self._videos is None:
            self._videos, self._video_seq = self._read_videos()
        elif time.monotonic() - self._video_checked >= self._refresh_seconds:
            self._refresh_videos()
        self._video_checked = time.monotonic()
        return self._videos

    def query_videos(self, features: Sequence[VpdqFeature], thresholds: dict[int, VideoThresholds]
                     ) -> list[VideoMatch]:
        """Banked videos matching the query under each bank's rule (banks absent from `thresholds` are skipped)."""
        with self._video_lock:  # a refresh never changes the index under a query
            found = self._current_videos().query(features, thresholds)
        return [m for m in found if m.bank in thresholds]

    @property
    def video_seq(self) -> int:
        """The change log position the video index has applied (0 before it is first loaded)."""
        return self._video_seq

    def _read_videos(self) -> tuple[VideoIndex, int]:
        index = VideoIndex()
        with self._sessions() as session:
            last_seq = int(session.scalar(select(func.max(SignalChange.seq))) or 0)
            after = 0
            while True:
                rows = session.execute(
                    select(EntrySignal.id, EntrySignal.bank_id, VideoSignal.features)
                    .join(VideoSignal, VideoSignal.signal_id == EntrySignal.id)
                    .where(EntrySignal.signal_type == VPDQ, EntrySignal.id > after)
                    .order_by(EntrySignal.id).limit(1000)).all()
                if not rows:
                    break
                for signal_id, bank_id, features in rows:
                    _add_video(index, signal_id, bank_id, features)
                after = rows[-1].id
        return index, last_seq

    def _refresh_videos(self) -> None:
        assert self._videos is not None
        with self._sessions() as session:
            while True:
                changes = session.execute(
                    select(SignalChange.seq, SignalChange.signal_id, SignalChange.op)
                    .where(SignalChange.seq > self._video_seq, SignalChange.signal_type == VPDQ)
                    .order_by(SignalChange.seq).limit(LOAD_BATCH)).all()
                if not changes:
                    break
                added = {c.signal_id for c in changes if c.op == "add"}
                rows = {r.id: r for r in session.execute(
                    select(EntrySignal.id, EntrySignal.bank_id, VideoSignal.features)
                    .join(VideoSignal, VideoSignal.signal_id == EntrySignal.id)
                    .where(EntrySignal.id.in_(added))).all()} if added else {}
                for change in changes:
                    if change.op == "remove":
                        self._videos.remove(change.signal_id)
                    elif change.signal_id in rows:  # gone already when absent: its removal follows
                        row = rows[change.signal_id]
                        _add_video(self._videos, row.id, row.bank_id, row.features)
                self._video_seq = changes[-1].seq

    def video_thresholds(self, session: Session, *, match_banks_only: bool = False) -> dict[int, VideoThresholds]:
        """Each live bank's video rule (python-threatexchange's, with the bank's own percentages)."""
        conditions = [Bank.deleted_at.is_(None), Bank.enabled]
        if match_banks_only:
            conditions.append(Bank.kind == "match")
        rows = session.execute(select(Bank.id, Bank.vpdq_query_match_percent, Bank.vpdq_compared_match_percent)
                               .where(*conditions)).all()
        return {bank_id: VideoThresholds(float(query), float(compared)) for bank_id, query, compared in rows}

    def match_video(self, session: Session, features: Sequence[VpdqFeature],
                    banks: Iterable[str] | None = None) -> MatchOutcome:
        """Banked videos the query's frames match by python-threatexchange's rule, per bank's thresholds.

        Entry and bank state are applied from the database as for every match; a hit in an
        allow bank suppresses the matches, as for a photo.
        """
        thresholds = self.video_thresholds(session)
        if not thresholds:
            return MatchOutcome()
        found = self.query_videos(features, thresholds)
        details = self._load_candidates(session, {int(m.entry) for m in found})  # type: ignore[call-overload]
        wanted = set(banks) if banks is not None else None
        hits: list[BankMatch] = []
        for match in found:
            if match.entry not in details:
                continue
            signal, entry, bank = details[match.entry]
            if wanted is not None and bank.name not in wanted:
                continue
            hits.append(BankMatch(bank.id, bank.name, bank.kind, entry.id, signal.id, VPDQ, signal.value,
                                  match.best_distance, entry.classification, entry.source, entry.external_id,
                                  video=match))
        return _split(hits)

    @staticmethod
    def _outcome(cands: dict[int, int], details: dict[int, tuple], wanted: set[str] | None  # type: ignore[type-arg]
                 ) -> MatchOutcome:
        hits: list[BankMatch] = []
        for signal_id, distance in cands.items():
            if signal_id not in details:
                continue
            signal, entry, bank = details[signal_id]
            if signal.signal_type == PDQ and distance > bank.pdq_threshold:
                continue
            if wanted is not None and bank.name not in wanted:
                continue
            hits.append(BankMatch(bank.id, bank.name, bank.kind, entry.id, signal.id, signal.signal_type,
                                  signal.value, distance, entry.classification, entry.source, entry.external_id))
        return _split(hits)


def _split(hits: list[BankMatch]) -> MatchOutcome:
    """Matches, unless an allow bank matched too: then they are suppressed."""
    hits.sort(key=lambda m: (m.distance, m.bank_name, m.entry_id))
    allowed = [m for m in hits if m.bank_kind == "allow"]
    matched = [m for m in hits if m.bank_kind != "allow"]
    if allowed:
        return MatchOutcome(matches=[], allowed=allowed, suppressed=matched)
    return MatchOutcome(matches=matched)


def combine(*outcomes: MatchOutcome) -> MatchOutcome:
    """One item's outcomes (e.g. its digests and its vPDQ) as one: an allow hit in any suppresses them all."""
    return _split([m for o in outcomes for m in (*o.matches, *o.allowed, *o.suppressed)])


def _add_video(index: VideoIndex, signal_id: int, bank_id: int, features: str) -> None:
    try:
        index.add(signal_id, signal_to_features(features), bank=bank_id)
    except ValueError:  # written around validation: reported, never fatal
        log.warning("skipping a malformed vPDQ signal", extra={"signal_id": signal_id})


_CHANGES = select(SignalChange.seq, SignalChange.signal_id, SignalChange.signal_type, SignalChange.value,
                  SignalChange.op, SignalChange.at)


def _note_gaps(gaps: list[list[float]], after: int, seqs: Sequence[int]) -> None:
    """Record the numbers missing between `after` and the ascending `seqs` just read."""
    now, expected = time.monotonic(), after + 1
    for seq in seqs:
        if seq > expected:
            gaps.append([expected, seq - 1, now])
        expected = seq + 1
    del gaps[:-MAX_GAPS]


def rebuild_is_cheaper(pending: int, size: int) -> bool:
    """Whether reading every PDQ signal afresh beats replaying `pending` logged changes onto `size` rows.

    Replaying a change costs several times reading a row (a log row, a removal and an add into the
    delta, which later must be compacted), so a backlog over a third of the index is rebuilt instead.
    `make bench` (bench_banks.py) measures both.
    """
    return pending > SYNC_REPLAY_LIMIT and pending * 3 > size


def _read_pdq_signals(session: Session) -> tuple[np.ndarray, np.ndarray]:
    """Every PDQ signal as (int64 ids, uint8 (N, 32) hashes), read in keyset-paginated batches."""
    id_chunks: list[np.ndarray] = []
    hash_chunks: list[np.ndarray] = []
    after = 0
    while True:
        rows = session.execute(
            select(EntrySignal.id, EntrySignal.value).where(EntrySignal.signal_type == PDQ, EntrySignal.id > after)
            .order_by(EntrySignal.id).limit(LOAD_BATCH)
        ).all()
        if not rows:
            break
        good = rows if _all_hex(rows) else _skip_malformed(rows)
        id_chunks.append(np.fromiter((r.id for r in good), dtype=np.int64, count=len(good)))
        packed = bytes.fromhex("".join(r.value for r in good))
        hash_chunks.append(np.frombuffer(packed, dtype=np.uint8).reshape(len(good), 32))
        after = rows[-1].id
    if not id_chunks:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 32), dtype=np.uint8)
    return np.concatenate(id_chunks), np.concatenate(hash_chunks)


def _all_hex(rows: Sequence[Any]) -> bool:
    try:
        return len(bytes.fromhex("".join(r.value for r in rows))) == 32 * len(rows)
    except ValueError:
        return False


def _skip_malformed(rows: Sequence[Any]) -> list[Any]:
    """Drop rows whose value is not a PDQ hash (written around validation): reported, never fatal."""
    good = []
    for row in rows:
        try:
            if len(bytes.fromhex(row.value)) == 32:
                good.append(row)
                continue
        except ValueError:
            pass
        log.warning("skipping a malformed PDQ signal", extra={"signal_id": row.id})
    return good


SNAPSHOT_TASK = "matching.snapshot"
MATCHER_SERVICE = "matching.matcher"
SNAPSHOT_INTERVAL = timedelta(minutes=10)


def schedule_snapshots(session: Session, clock: Clock, *, at: datetime | None = None) -> None:
    """Keep one `matching.snapshot` timer alive (deduplicated: any number of processes may call this)."""
    from bastion import timers

    timers.schedule(session, kind=SNAPSHOT_TASK, due_at=at or clock.now() + SNAPSHOT_INTERVAL, clock=clock,
                    subject="matching:pdq", dedupe_key=SNAPSHOT_TASK)


def _register() -> None:
    from bastion.executor import TaskContext, registry

    @registry.task(SNAPSHOT_TASK)
    def write_snapshot(ctx: TaskContext, payload: dict[str, Any]) -> None:
        """Whichever process claims the timer writes the snapshot the others will swap to."""
        matcher: BankMatcher | None = ctx.services.get(MATCHER_SERVICE)
        if matcher is not None and matcher.ready and matcher.store is not None:
            matcher.write_snapshot()  # skips if another process is publishing or the store is as new
        with ctx.sessions() as session:
            schedule_snapshots(session, ctx.clock, at=ctx.clock.now() + SNAPSHOT_INTERVAL)
            session.commit()


_register()
