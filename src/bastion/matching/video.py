"""Video matching: vPDQ frames in the exact PDQ index, scored by python-threatexchange's rule.

A banked video is the set of its sampled frames (``VpdqFeature``). Matching follows
python-threatexchange's ``VPDQIndex`` so a verdict here is the verdict HMA would give:

1. both sides keep only frames of quality >= 50, then the first frame of each distinct hash;
2. two frames match when their PDQ hashes are at most 31 bits apart;
3. for each banked video, the *query-match percentage* is the share of the query's frames
   that match any of its frames, and the *compared-match percentage* the share of its frames
   that match any query frame;
4. it is a match when the first is at least the query threshold (default 80%) and the second
   at least the compared threshold (default 0%); thresholds can differ per bank.

Every frame of every banked video is one row of a :class:`~bastion.matching.MIHPDQIndex`
(the same exact multi-index engine as images), keyed by a frame id, so one batched query
finds every frame pair within the distance; the percentages are then counted per video.
Results also say *where*: the matched stretches of the query and of the banked video, in
seconds.

:func:`match_frames_to_images` is the other direction: a video's frames looked up in an
index of still images, so a known picture shown inside a video is found, with the time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from bastion.media.video import (
    VPDQ_DISTANCE_THRESHOLD,
    VPDQ_QUALITY_THRESHOLD,
    VpdqFeature,
    prepare_features,
)

from .index import PDQIndex
from .live import MIHPDQIndex

QUERY_MATCH_THRESHOLD_PERCENT: Final = 80.0
COMPARED_MATCH_THRESHOLD_PERCENT: Final = 0.0


@dataclass(frozen=True, slots=True)
class VideoThresholds:
    """When a banked video counts as matched (python-threatexchange's defaults)."""

    query_match_percent: float = QUERY_MATCH_THRESHOLD_PERCENT
    compared_match_percent: float = COMPARED_MATCH_THRESHOLD_PERCENT
    distance: int = VPDQ_DISTANCE_THRESHOLD
    quality: int = VPDQ_QUALITY_THRESHOLD

    def __post_init__(self) -> None:
        for name in ("query_match_percent", "compared_match_percent"):
            value = getattr(self, name)
            if not 0.0 <= value <= 100.0:
                raise ValueError(f"{name} must be a percentage between 0 and 100, got {value!r}")
        if not 0 <= self.distance <= 256:
            raise ValueError(f"distance must be 0..256 bits, got {self.distance!r}")
        if not 0 <= self.quality <= 100:
            raise ValueError(f"quality must be 0..100, got {self.quality!r}")


DEFAULT_THRESHOLDS: Final = VideoThresholds()


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Seconds ``start`` to ``end`` (both sampled frames' timestamps; equal for a single frame)."""

    start: float
    end: float


@dataclass(frozen=True, slots=True)
class VideoMatch:
    """A banked video the query matched, how much of each matched, and where."""

    entry: Hashable
    bank: Hashable
    query_match_percent: float
    compared_match_percent: float
    query_ranges: tuple[TimeRange, ...]
    compared_ranges: tuple[TimeRange, ...]
    best_distance: int


@dataclass(frozen=True, slots=True)
class FrameHit:
    """A frame of a video within the distance of a still image in an image index."""

    entry_id: int
    distance: int
    frame_number: int
    timestamp: float


@dataclass
class _Video:
    entry: Hashable
    bank: Hashable
    features: list[VpdqFeature]
    frame_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


class VideoIndex:
    """Banked videos' frames in one exact PDQ index, queried by python-threatexchange's rule.

    Frames are prepared (quality-filtered, deduplicated) with the quality floor given here,
    as python-threatexchange's index does when a video is added.
    """

    def __init__(self, *, quality: int = VPDQ_QUALITY_THRESHOLD) -> None:
        self.quality = quality
        self._index = MIHPDQIndex()
        self._videos: dict[Hashable, _Video] = {}
        self._frame_video: list[Hashable] = []  # frame id -> entry
        self._frame_pos: list[int] = []  # frame id -> position in that entry's prepared features

    def __len__(self) -> int:
        return len(self._videos)

    @property
    def frames(self) -> int:
        return len(self._index)

    def add(self, entry: Hashable, features: Iterable[VpdqFeature], *, bank: Hashable = None) -> int:
        """Bank a video under ``entry`` (replacing one already there); returns the frames kept."""
        if entry in self._videos:
            self.remove(entry)
        prepared = prepare_features(features, self.quality)
        first = len(self._frame_video)
        ids = np.arange(first, first + len(prepared), dtype=np.int64)
        self._frame_video.extend([entry] * len(prepared))
        self._frame_pos.extend(range(len(prepared)))
        if prepared:
            self._index.add(ids, [f.hash for f in prepared])
            if self._index.should_compact():
                self._index.compact()
        self._videos[entry] = _Video(entry, bank, prepared, ids)
        return len(prepared)

    def remove(self, entry: Hashable) -> bool:
        video = self._videos.pop(entry, None)
        if video is None:
            return False
        if video.frame_ids.size:
            self._index.remove(video.frame_ids)
        return True

    def query(self, features: Iterable[VpdqFeature],
              thresholds: VideoThresholds | Mapping[Hashable, VideoThresholds] = DEFAULT_THRESHOLDS,
              ) -> list[VideoMatch]:
        """Every banked video the query matches, best query-match percentage first.

        ``thresholds`` is one set for all banks or a mapping bank -> thresholds (banks not in
        it use the defaults). The query is prepared with each bank's quality floor; the
        distance used for the index lookup is the largest any bank asks for.
        """
        per_bank = thresholds if isinstance(thresholds, Mapping) else None
        default = thresholds if isinstance(thresholds, VideoThresholds) else DEFAULT_THRESHOLDS
        all_features = list(features)
        qualities = {t.quality for t in (per_bank or {}).values()} | {default.quality}
        prepared_by_quality = {q: prepare_features(all_features, q) for q in qualities}
        widest = max([default.distance, *[t.distance for t in (per_bank or {}).values()]])
        # look up the loosest prepared set once; narrower sets are subsets of it
        loosest = prepared_by_quality[min(qualities)]
        if not loosest or not len(self._index):
            return []
        hits = self._index.query_batch([f.hash for f in loosest], widest)
        pairs: dict[Hashable, list[tuple[int, int, int]]] = defaultdict(list)  # entry -> (query pos, frame pos, d)
        for query_pos, row in enumerate(hits):
            for frame_id, distance in row:
                pairs[self._frame_video[frame_id]].append((query_pos, self._frame_pos[frame_id], distance))
        matches = []
        for entry, found in pairs.items():
            video = self._videos[entry]
            rule = (per_bank or {}).get(video.bank, default)
            match = _score(loosest, prepared_by_quality[rule.quality], video, found, rule)
            if match is not None:
                matches.append(match)
        matches.sort(key=lambda m: (-m.query_match_percent, -m.compared_match_percent, m.best_distance))
        return matches


def _score(loosest: list[VpdqFeature], query: list[VpdqFeature], video: _Video,
           found: list[tuple[int, int, int]], rule: VideoThresholds) -> VideoMatch | None:
    """Percentages and ranges for one banked video, under its bank's rule."""
    if not query or not video.features:
        return None
    wanted = {f.hash for f in query}
    query_hit: set[int] = set()
    banked_hit: set[int] = set()
    best = 257
    for query_pos, frame_pos, distance in found:
        if distance <= rule.distance and loosest[query_pos].hash in wanted:
            query_hit.add(query_pos)
            banked_hit.add(frame_pos)
            best = min(best, distance)
    if not query_hit:
        return None
    query_percent = len(query_hit) * 100 / len(query)
    compared_percent = len(banked_hit) * 100 / len(video.features)
    if query_percent < rule.query_match_percent or compared_percent < rule.compared_match_percent:
        return None
    return VideoMatch(entry=video.entry, bank=video.bank, query_match_percent=query_percent,
                      compared_match_percent=compared_percent,
                      query_ranges=time_ranges([loosest[i] for i in sorted(query_hit)], loosest),
                      compared_ranges=time_ranges([video.features[i] for i in sorted(banked_hit)], video.features),
                      best_distance=best)


def time_ranges(matched: Sequence[VpdqFeature], sampled: Sequence[VpdqFeature]) -> tuple[TimeRange, ...]:
    """Matched frames' timestamps merged into stretches.

    Two matched frames are in one stretch when no sampled frame between them went unmatched,
    which needs no guess about the sampling interval.
    """
    if not matched:
        return ()
    order = sorted(sampled, key=lambda f: f.timestamp)
    position = {id(f): i for i, f in enumerate(order)}
    ranked = sorted(matched, key=lambda f: f.timestamp)
    ranges = []
    start = previous = ranked[0]
    for feature in ranked[1:]:
        if position[id(feature)] != position[id(previous)] + 1:
            ranges.append(TimeRange(start.timestamp, previous.timestamp))
            start = feature
        previous = feature
    ranges.append(TimeRange(start.timestamp, previous.timestamp))
    return tuple(ranges)


def match_frames_to_images(features: Iterable[VpdqFeature], images: PDQIndex, *,
                           distance: int = VPDQ_DISTANCE_THRESHOLD,
                           quality: int = VPDQ_QUALITY_THRESHOLD) -> list[FrameHit]:
    """Every (frame, still image) pair within ``distance``, for frames of at least ``quality``.

    Identical frames are looked up once but every one is reported, so each time the
    picture appears is in the answer. Sorted by image entry, then time.
    """
    usable = [f for f in features if f.quality >= quality]
    distinct = list(dict.fromkeys(f.hash for f in usable))
    if not distinct or not len(images):
        return []
    found = dict(zip(distinct, images.query_batch(distinct, distance), strict=True))
    hits = [FrameHit(entry_id, d, f.frame_number, f.timestamp) for f in usable for entry_id, d in found[f.hash]]
    hits.sort(key=lambda h: (h.entry_id, h.timestamp))
    return hits


def compare_videos(query: Sequence[VpdqFeature], compared: Sequence[VpdqFeature], *,
                   distance: int = VPDQ_DISTANCE_THRESHOLD,
                   quality: int = VPDQ_QUALITY_THRESHOLD) -> tuple[float, float]:
    """(query-match %, compared-match %) of two videos by pairwise comparison, without an index.

    The obviously-correct reference the index is tested against; O(n*m).
    """
    a, b = prepare_features(query, quality), prepare_features(compared, quality)
    if not a or not b:
        return 0.0, 0.0
    bits_a = np.array([np.frombuffer(bytes.fromhex(f.hash), dtype=np.uint8) for f in a])
    bits_b = np.array([np.frombuffer(bytes.fromhex(f.hash), dtype=np.uint8) for f in b])
    xor = np.bitwise_xor(bits_a[:, None, :], bits_b[None, :, :])
    distances = np.unpackbits(xor, axis=2).sum(axis=2)
    close = distances <= distance
    return float(close.any(axis=1).sum() * 100 / len(a)), float(close.any(axis=0).sum() * 100 / len(b))


__all__ = [
    "COMPARED_MATCH_THRESHOLD_PERCENT",
    "DEFAULT_THRESHOLDS",
    "QUERY_MATCH_THRESHOLD_PERCENT",
    "FrameHit",
    "TimeRange",
    "VideoIndex",
    "VideoMatch",
    "VideoThresholds",
    "compare_videos",
    "match_frames_to_images",
    "time_ranges",
]
