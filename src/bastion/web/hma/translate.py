"""HMA's operations translated onto Bastion's services: hashing, lookups, banks and their content.

Only what is HMA's lives here: its names for signal and content types, its message
texts, its coinflip over each bank's matching ratio, the shape of each answer. The
rules themselves belong to the domains: which hashes count (`scanning.signals`),
raw index hits and loading the index (`matching.lookups`), bank content and its
counts (`banks.service`, `banks.stats`). The route modules only parse, authorise,
call one of these and render. Errors are `HTTPException`s with HMA's exact texts,
which `bastion.web.errors` renders as `{"message": ...}` under /h, /m and /c.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import HTTPException
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bastion import audit
from bastion.banks import service as banks
from bastion.banks import stats
from bastion.banks.errors import BankExists, BankNotFound, EntryNotFound, InvalidBankName
from bastion.banks.models import Bank, BankEntry
from bastion.clock import Clock, as_utc
from bastion.matching.banked import SYNC_REPLAY_LIMIT, MatchOutcome, combine
from bastion.matching.lookups import INDEX_LOAD, IndexLoad, indexed_in_live_banks, raw_hits, raw_video_hits
from bastion.matching.video import DEFAULT_THRESHOLDS, VideoMatch, compare_videos
from bastion.media import PDQ, DecodeLimits, hamming_distance
from bastion.media.video import signal_to_features
from bastion.media.video_isolation import hash_video_untrusted
from bastion.scanning.signals import file_signals
from bastion.scanning.urlfetch import (
    FetchFailed,
    FetchPolicy,
    FetchTooLarge,
    ForbiddenUrl,
    fetch,
)
from bastion.web.hma import types
from bastion.web.hma.conversion import hma_pdq
from bastion.web.hma.dialect import BASTION, FULL, HMA, Dialect
from bastion.web.hma.schemas import BankedContentMetadata, Body
from bastion.web.state import AppState

log = logging.getLogger(__name__)

BAD_BANK_NAME = "Bank names must be UPPER_WITH_UNDERSCORE"
MAX_NOTE = 255


# -- hashing ------------------------------------------------------------------------


@dataclass(frozen=True)
class Hashed:
    """What hashing one file produced, under HMA's names ("" for a PDQ of too low quality)."""

    content_type: str
    signals: dict[str, str]
    pdq_variants: tuple[str, ...] = ()  # rotations and mirrorings, for lookups


def hash_bytes(data: bytes, content: str, names: list[str], limits: DecodeLimits, *,
               dihedral: bool = False, conversion: str = BASTION) -> Hashed:
    """Hash under HMA's names; `conversion=HMA` computes PDQ as HMA does (upright only, no variants)."""
    if content == types.VIDEO and types.VPDQ in names:  # decoded in an isolated process
        video = hash_video_untrusted(data)
        every = {types.VIDEO_MD5: video.md5, types.VPDQ: video.signal_string()}
        return Hashed(content, {name: every[name] for name in names})
    if content == types.VIDEO:  # HMA's video_md5: the MD5 of the file's bytes, never decoded
        return Hashed(content, {types.VIDEO_MD5: file_signals(data, limits, decode=False).values["md5"]})
    if conversion == HMA and PDQ in names:
        digests = file_signals(data, limits, decode=False).values
        every = {**digests, PDQ: hma_pdq(data, limits)}
        return Hashed(content, {name: every[types.SIGNAL_TYPES[name].stored_as] for name in names})
    hashed = file_signals(data, limits, decode=PDQ in names, dihedral=dihedral)  # digests alone need no decoding
    return Hashed(content, {name: hashed.values[types.SIGNAL_TYPES[name].stored_as] for name in names},
                  hashed.pdq_variants)


def fetch_url(url: str, policy: FetchPolicy) -> tuple[bytes, str]:
    """(content, Content-Type) of `url`, SSRF-guarded, with HMA's error texts.

    A host followed by an empty port (`http://example.com:`) is refused as HMA refuses it,
    before any name is resolved.
    """
    try:
        if urlsplit(url).netloc.endswith(":"):
            raise ForbiddenUrl("empty port")
        fetched = fetch(url, policy)
    except (ForbiddenUrl, ValueError):  # ValueError: urlsplit refuses it (a bad IPv6 literal)
        raise HTTPException(400, "Invalid or unsafe URL provided") from None
    except FetchTooLarge:
        raise HTTPException(413, "Content too large") from None
    except FetchFailed as exc:
        raise HTTPException(400, f"Failed to fetch URL: {exc.message}") from None
    return fetched.content, fetched.content_type


def hash_url(url: str, content_type_hint: str | None, types_arg: str | None, policy: FetchPolicy,
             limits: DecodeLimits, *, dihedral: bool = False, dialect: Dialect = FULL,
             conversion: str = BASTION) -> Hashed:
    names: list[str] | None = None
    if content_type_hint:  # checked before anything is fetched
        content = types.content_type(content_type_hint)
        names = dialect.select_types(content, types_arg)
    data, mime = fetch_url(url, policy)
    if names is None:
        content = types.content_type_from_mime(mime)
        names = dialect.select_types(content, types_arg)
    return hash_bytes(data, content, names, limits, dihedral=dihedral and conversion != HMA, conversion=conversion)


def hash_upload(body: Body, types_arg: str | None, limits: DecodeLimits, *, dihedral: bool = False,
                dialect: Dialect = FULL, conversion: str = BASTION) -> Hashed:
    """HMA's multipart rule: exactly one file part, whose field name is the content type."""
    files = body.files()
    if not files:
        raise HTTPException(400, "Missing multipart/form-data file upload")
    if len({key for key, _ in files}) > 1:
        raise HTTPException(400, "Only one file allowed per request")
    field, upload = files[0]
    content = types.content_type(field)
    names = dialect.select_types(content, types_arg)
    if len(files) > 1:
        raise HTTPException(400, "Only one file allowed per request")
    data = upload.file.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise HTTPException(413, "Content too large")
    return hash_bytes(data, content, names, limits, dihedral=dihedral and conversion != HMA, conversion=conversion)


# -- matching -----------------------------------------------------------------------

def pdq_index_ready(state: AppState) -> bool:
    """Whether the PDQ index is in memory; if not, a load is started (`matching.lookups.IndexLoad`)."""
    load = state.services.get(INDEX_LOAD) or state.services.setdefault(INDEX_LOAD, IndexLoad(state.matcher))
    return load.ready()


def require_pdq_index(state: AppState) -> None:
    """503 until the PDQ index is in memory; the first request starts loading it."""
    if not pdq_index_ready(state):
        raise HTTPException(503, "index not yet ready")


def refresh_pdq_index(session: Session, state: AppState) -> bool:
    """Bring the PDQ index up to the newest bank change, as a lookup would; whether it is in memory.

    Status answers must not wait for a lookup to show a change: a short backlog is
    replayed now, whatever the refresh interval; a long one (a bulk import) is caught
    up in the background, as lookups do. An index not loaded yet is left to the first
    lookup (or `/status`) to load: reporting alone starts no load.
    """
    if not state.matcher.ready:
        return False
    matcher = state.matcher
    if not matcher.catching_up and stats.newest_change(session) - matcher.status().last_change <= SYNC_REPLAY_LIMIT:
        matcher.refresh()
    else:
        matcher.maybe_refresh()
    return True


def index_stale(state: AppState) -> bool:
    """Whether a bank change has waited longer than `hma_index_stale_seconds` to reach the PDQ index."""
    limit = state.settings.hma_index_stale_seconds
    since = state.matcher.pending_since()
    return bool(limit) and since is not None and (state.clock.now() - as_utc(since)).total_seconds() > limit


def parse_signal(signal_type_name: str, value: Any, dialect: Dialect = FULL) -> tuple[types.SignalType, str]:
    st = dialect.signal_type(signal_type_name)
    try:
        return st, st.validate(value)
    except ValueError as exc:
        raise HTTPException(400, f"invalid signal: {exc}") from None


def bank_filter(banks_arg: str | None) -> set[str] | None:
    return set(banks_arg.split(",")) if banks_arg else None


def raw_lookup(session: Session, state: AppState, st: types.SignalType, value: str,
               wanted: set[str] | None) -> list[tuple[int, str]]:
    """(bank content id, distance text) of every index hit; entry state and bank ratios are not applied.

    Deleted and switched-off banks are skipped, and so are allow banks (Bastion's
    known-benign lists, which HMA has no notion of).
    """
    if st.name == types.VPDQ:
        return [(entry_id, similarity(match))
                for entry_id, match in raw_video_hits(session, state.matcher, signal_to_features(value), banks=wanted)]
    if not st.exact:
        require_pdq_index(state)
    hits = raw_hits(session, state.matcher, st.stored_as, value, exact=st.exact, banks=wanted)
    return [(entry_id, "" if distance is None else str(distance)) for entry_id, distance in hits]


MatchesByBank = dict[str, list[dict[str, Any]]]


def lookup(session: Session, state: AppState, signals: dict[str, str], *, variants: tuple[str, ...] = (),
           seed: str | None = None, bypass_coinflip: bool = False, wanted: set[str] | None = None
           ) -> dict[str, MatchesByBank]:
    """Matches per signal type (HMA names), then per bank, after entry state, allow banks and the coinflip.

    `signals` must be validated. All signals are matched together, so a hit in an
    allow bank suppresses every match of the item, whichever signal found it.
    """
    stored = {types.SIGNAL_TYPES[name].stored_as: value for name, value in signals.items() if name != types.VPDQ}
    if stored.get(PDQ):
        require_pdq_index(state)
    outcome = state.matcher.match(session, stored, pdq_variants=variants if stored.get(PDQ) else ()) \
        if stored else MatchOutcome()
    if signals.get(types.VPDQ):
        outcome = combine(outcome, state.matcher.match_video(session, signal_to_features(signals[types.VPDQ])))
    ratios = banks.matching_ratios(session, {m.bank_id for m in outcome.matches})
    result: dict[str, MatchesByBank] = {}
    for name in signals:
        st = types.SIGNAL_TYPES[name]
        coinflip = 0.0 if bypass_coinflip else random.Random(seed).random()
        by_bank: MatchesByBank = {}
        seen: set[int] = set()
        for match in outcome.matches:
            if match.signal_type != st.stored_as or match.entry_id in seen:
                continue
            if ratios.get(match.bank_id, 0.0) < coinflip or (wanted is not None and match.bank_name not in wanted):
                continue
            seen.add(match.entry_id)
            distance = "" if st.exact else similarity(match.video) if match.video else str(match.distance)
            by_bank.setdefault(match.bank_name, []).append({"bank_content_id": match.entry_id, "distance": distance})
        result[name] = by_bank
    return result


def similarity(match: VideoMatch) -> str:
    """python-threatexchange's text for a video match: query-match percent, then compared-match in brackets."""
    return f"{match.query_match_percent:.0f}%[{match.compared_match_percent:.0f}%]"


def compare(body: Any, dialect: Dialect = FULL) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise HTTPException(400, "Request input was not a dict")
    results: dict[str, Any] = {}
    for name, pair in body.items():
        if not isinstance(pair, list):
            raise HTTPException(400, f"Comparison hashes for {name} was not a list")
        if len(pair) != 2:
            raise HTTPException(400, "Comparison hash list length must be exactly 2")
        st = dialect.signal_type(name)
        try:
            left, right = st.validate(pair[0]), st.validate(pair[1])
        except ValueError as exc:
            raise HTTPException(400, f"Invalid {name} hash: {exc}") from None
        if st.exact:
            results[name] = [left == right, {}]
        elif st.name == types.VPDQ:
            query, compared = compare_videos(signal_to_features(left), signal_to_features(right))
            matched = (query >= DEFAULT_THRESHOLDS.query_match_percent
                       and compared >= DEFAULT_THRESHOLDS.compared_match_percent)
            results[name] = [matched, {"query_match_percent": query, "compared_match_percent": compared}]
        else:
            distance = hamming_distance(left, right)
            results[name] = [distance <= types.PDQ_MATCH_THRESHOLD, {"distance": distance}]
    return results


# -- index status -------------------------------------------------------------------


def _unix(value: datetime | None) -> int:
    return -1 if value is None else int(as_utc(value).timestamp())


def _change_at(session: Session, seq: int) -> int:
    return _unix(stats.change_time(session, seq))


def _exact_stats(session: Session, stored_as: str) -> tuple[int, int]:
    count, newest = stats.signal_stats(session, stored_as)
    return count, _unix(newest)


def selected_types(signal_type_arg: str | None, dialect: Dialect = FULL) -> list[str]:
    if signal_type_arg is None:
        return list(dialect.names)
    if not dialect.offers(signal_type_arg):
        raise HTTPException(400, f"No such signal type '{signal_type_arg}'")
    return [signal_type_arg]


def _pdq_sizes(session: Session, state: AppState) -> tuple[int, int]:
    """(PDQ signals in banks not deleted, how many of them the index holds): never more in the index."""
    db_size, _ = stats.signal_stats(session, PDQ)
    return db_size, min(indexed_in_live_banks(session, state.matcher), db_size)


def index_status(session: Session, state: AppState, signal_type_arg: str | None,
                 dialect: Dialect = FULL) -> dict[str, Any]:
    """/m/index/status. PDQ: the in-memory index, brought up to date first; the exact types are looked up in
    the database, always current. Sizes leave deleted banks out."""
    result: dict[str, Any] = {}
    for name in selected_types(signal_type_arg, dialect):
        st = types.SIGNAL_TYPES[name]
        if st.exact:
            size, built_to = _exact_stats(session, st.stored_as)
            result[name] = {"built_to": built_to, "present": True, "size": size}
        elif st.name == types.VPDQ:
            videos = state.matcher.video_index()
            result[name] = {"built_to": _change_at(session, state.matcher.video_seq), "present": True,
                            "size": len(videos)}
        else:
            ready = refresh_pdq_index(session, state)
            status = state.matcher.status()
            result[name] = {"built_to": _change_at(session, status.last_change) if ready else -1,
                            "present": ready, "size": _pdq_sizes(session, state)[1] if ready else 0}
    return result


def signal_type_index(session: Session, state: AppState, signal_type_arg: str | None,
                      dialect: Dialect = FULL) -> dict[str, Any]:
    """/c/signal_type/index: what the database holds against what the index was built to (deleted banks left out)."""
    result: dict[str, Any] = {}
    for name in selected_types(signal_type_arg, dialect):
        st = types.SIGNAL_TYPES[name]
        if st.exact:
            size, newest = _exact_stats(session, st.stored_as)
            result[name] = {"db_size": size, "index_size": size, "index_out_of_date": False,
                            "newest_db_item": newest, "index_built_to": newest}
            continue
        if st.name == types.VPDQ:
            videos, newest_seq = len(state.matcher.video_index()), stats.newest_change(session, types.VPDQ)
            result[name] = {"db_size": stats.signal_count(session, types.VPDQ), "index_size": videos,
                            "index_out_of_date": newest_seq > state.matcher.video_seq,
                            "newest_db_item": _change_at(session, newest_seq),
                            "index_built_to": _change_at(session, state.matcher.video_seq)}
            continue
        ready = refresh_pdq_index(session, state)
        status = state.matcher.status()
        built_seq = status.last_change if ready else 0
        newest_seq = stats.newest_change(session)
        db_size, index_size = _pdq_sizes(session, state)
        result[name] = {"db_size": db_size, "index_size": index_size if ready else 0,
                        "index_out_of_date": newest_seq != built_seq,
                        "newest_db_item": _change_at(session, newest_seq),
                        "index_built_to": _change_at(session, built_seq)}
    return result


# -- banks --------------------------------------------------------------------------


def bank_json(bank: Bank) -> dict[str, Any]:
    return {"matching_enabled_ratio": float(bank.matching_enabled_ratio), "name": bank.name}


def find_bank(session: Session, name: str) -> Bank | None:
    try:
        return banks.get_bank(session, name)
    except BankNotFound:
        return None


def bank_or_404(session: Session, name: str, message: str | None = None) -> Bank:
    bank = find_bank(session, name)
    if bank is None:
        raise HTTPException(404, message or f"bank '{name}' not found")
    return bank


def create_bank(session: Session, name: str, ratio: float, *, actor: str, clock: Clock) -> Bank:
    try:
        bank = banks.create_bank(session, name=name, matching_enabled_ratio=ratio, actor=actor, clock=clock,
                                 source="hma")
        session.commit()
    except InvalidBankName:
        raise HTTPException(400, BAD_BANK_NAME) from None
    except (BankExists, IntegrityError):
        session.rollback()
        raise HTTPException(403, "Bank already exists") from None
    return bank


def update_bank(session: Session, bank: Bank, *, name: str | None, enabled: bool | None,
                enabled_ratio: float | None, actor: str, clock: Clock) -> Bank:
    ratio = None
    if enabled is not None:
        ratio = 1.0 if enabled else 0.0
    if enabled_ratio is not None:
        ratio = enabled_ratio
    try:
        banks.update_bank(session, bank, actor=actor, clock=clock, name=name, matching_enabled_ratio=ratio)
        session.commit()
    except InvalidBankName:
        raise HTTPException(400, BAD_BANK_NAME) from None
    except (BankExists, IntegrityError):
        session.rollback()
        raise HTTPException(403, "Bank name already exists") from None
    return bank


def delete_bank(session: Session, name: str, *, actor: str, clock: Clock) -> None:
    """Soft delete through the banks service: the bank stops matching and its name is freed."""
    bank = find_bank(session, name)
    if bank is not None:
        banks.delete_bank(session, bank, actor=actor, clock=clock)
        session.commit()


# -- bank content -------------------------------------------------------------------


def check_note(note: Any) -> str | None:
    if not note:
        return None
    if not isinstance(note, str):
        raise HTTPException(400, "note should be a string")
    if len(note) > MAX_NOTE:
        raise HTTPException(400, f"note must be at most {MAX_NOTE} characters")
    return note


def content_metadata(body: Body) -> BankedContentMetadata | None:
    """`metadata` from a JSON body, or from the `metadata` form field of an upload."""
    raw: Any = None
    obj = body.json_object()
    if obj is not None:
        raw = obj.get("metadata")
    elif body.field("metadata") is not None:
        try:
            raw = json.loads(body.field("metadata") or "")
        except ValueError:
            raise HTTPException(400, "metadata form field must be valid JSON") from None
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise HTTPException(400, "metadata should be a json object")
    raw = {k: v for k, v in raw.items() if k != "collab"}
    try:
        return BankedContentMetadata(**raw)
    except ValidationError as exc:
        raise HTTPException(400, f"Invalid metadata: {exc}") from None


def content_note(body: Body) -> str | None:
    obj = body.json_object()
    note = obj.get("note") if obj is not None else body.field("note")
    return check_note(note)


def add_content(session: Session, bank: Bank, signals: dict[str, Any], *, metadata: BankedContentMetadata | None,
                note: str | None, actor: str, clock: Clock, dialect: Dialect = FULL) -> dict[str, Any]:
    """Bank one item with its signals (HMA names). A value already in the bank returns its entry."""
    if not signals:
        raise HTTPException(400, "No signals given")
    clean: dict[str, str] = {}
    for name, value in signals.items():
        st = types.SIGNAL_TYPES.get(name)
        if st is None or not dialect.offers(name):
            raise HTTPException(400, f"No such signal type {name}")
        try:
            clean[name] = st.validate(value)
        except ValueError as exc:
            raise HTTPException(400, f"Invalid {name} signal: {exc}") from None
    if types.VIDEO_MD5 in clean and "md5" in clean and clean["md5"] != clean[types.VIDEO_MD5]:
        raise HTTPException(400, f"Invalid {types.VIDEO_MD5} signal: it differs from the md5 given with it")
    user_metadata = metadata.model_dump(by_alias=True, exclude_none=True) if metadata is not None else None
    result = banks.add_entry(
        session, bank, {types.SIGNAL_TYPES[name].stored_as: value for name, value in clean.items()},
        actor=actor, clock=clock, note=note or "", metadata=user_metadata or None,
        external_id=(user_metadata or {}).get("content_id", "") or "",
        source=types.VIDEO_SOURCE if types.VIDEO_MD5 in clean else types.PHOTO_SOURCE,
    )
    session.commit()
    return {"id": result.entry.id, "signals": clean}


def find_entry(session: Session, bank: Bank, content_id: int) -> BankEntry | None:
    """The entry if it is in `bank` (HMA does not check the bank; Bastion does)."""
    try:
        return banks.get_entry(session, content_id, bank)
    except EntryNotFound:
        return None


def disable_until_ts(entry: BankEntry) -> int:
    if entry.enabled:
        return 1
    return 0 if entry.disabled_until is None else _unix(entry.disabled_until)


def content_json(session: Session, bank: Bank, entry: BankEntry, *, include_signals: bool,
                 include_metadata: bool, dialect: Dialect = FULL) -> dict[str, Any]:
    response: dict[str, Any] = {"id": entry.id, "disable_until_ts": disable_until_ts(entry),
                                "original_media_uri": None, "bank": bank_json(bank)}
    if include_signals:
        stored = dialect.reported(types.reported_signals(banks.entry_signals(session, entry.id), entry.source))
        if stored:
            response["signals"] = stored
    stored_meta = banks.entry_metadata(entry) if include_metadata else None
    if stored_meta:
        try:
            meta = BankedContentMetadata(**{k: v for k, v in stored_meta.items() if k != "collab"})
            response["metadata"] = meta.model_dump(by_alias=True)
        except (ValidationError, TypeError):
            log.warning("metadata of bank entry %d is not HMA metadata", entry.id)
    if entry.note:
        response["note"] = entry.note
    return response


def update_content(session: Session, bank: Bank, entry: BankEntry, data: Any, *, actor: str,
                   clock: Clock) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise HTTPException(400, "this endpoint expects a json object")
    if "disable_until_ts" in data:
        raw = data["disable_until_ts"]
        try:
            ts = int(raw)
        except (TypeError, ValueError):
            raise HTTPException(400, f"Invalid int: '{raw}'") from None
        if ts < 0:
            raise HTTPException(400, "disable_until_ts must be a non-negative integer")
        if ts > int((clock.now() + timedelta(days=365 * 5)).timestamp()):
            raise HTTPException(400, "disable_until_ts must be less than 5 years in the future")
        if ts != disable_until_ts(entry):
            until = None if ts in (0, 1) else datetime.fromtimestamp(ts, UTC)
            banks.set_entry_enabled(session, entry, ts == 1, actor=actor, clock=clock, reason="hma", until=until)
    if "note" in data:
        banks.set_entry_note(session, entry, check_note(data["note"]) or "", actor=actor, clock=clock)
    session.commit()
    return {"bank": bank_json(bank), "collab_metadata": {}, "disable_until_ts": disable_until_ts(entry),
            "id": entry.id, "note": entry.note or None, "original_media_uri": None,
            "user_metadata": banks.entry_metadata(entry)}


def delete_content(session: Session, bank: Bank, content_id: int, *, actor: str, clock: Clock) -> int:
    entry = find_entry(session, bank, content_id)
    if entry is None:
        return 0
    banks.delete_entry(session, entry, actor=actor, clock=clock)
    session.commit()
    return 1


# -- signal types -------------------------------------------------------------------


def set_signal_ratio(session: Session, state: AppState, name: str, data: Any, *, actor: str, clock: Clock,
                     dialect: Dialect = FULL) -> None:
    """Store a type's `enabled_ratio` (in memory; it changes nothing, as in HMA) and audit the change."""
    value = data.get("enabled_ratio") if isinstance(data, dict) else None
    if value is None:
        raise HTTPException(400, "enabled_ratio is required")
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        raise HTTPException(400, f"Invalid float: '{value}'") from None
    if name not in types.SIGNAL_TYPES or not dialect.offers(name):  # upstream: an uncaught ValueError, so a 500
        raise HTTPException(500, f"No such signal type '{name}'")
    if not 0.0 <= ratio <= 1.0:
        raise HTTPException(500, f"enabled_ratio must be between 0 and 1, not {ratio}")
    audit.record(session, actor=actor, action="hma.signal_type_update", subject=f"signal_type:{name}",
                 details={"enabled_ratio": ratio}, clock=clock)
    session.commit()
    types.ratios(state.services)[name] = ratio
