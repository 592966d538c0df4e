"""The video index against a pairwise reference, on generated features (no decoding).

The reference, :func:`compare_videos`, is python-threatexchange's rule written the
obvious O(n*m) way; the index must give the same percentages for every banked video,
whatever the duplicates, low-quality frames and near-threshold distances.
"""

from __future__ import annotations

import numpy as np
import pytest

from bastion.matching.video import (
    TimeRange,
    VideoIndex,
    VideoThresholds,
    compare_videos,
    match_frames_to_images,
    time_ranges,
)
from bastion.matching import BruteForcePDQIndex
from bastion.media.video import VpdqFeature, prepare_features


def _flip(hex_hash: str, bits: int, rng: np.random.Generator) -> str:
    value = int(hex_hash, 16)
    for bit in rng.choice(256, size=bits, replace=False):
        value ^= 1 << int(bit)
    return f"{value:064x}"


def _video(rng: np.random.Generator, frames: int, base: list[str] | None = None, noise: int = 0,
           low_quality_share: float = 0.1) -> list[VpdqFeature]:
    hashes = base or [f"{int.from_bytes(rng.bytes(32), 'big'):064x}" for _ in range(frames)]
    out = []
    for i, h in enumerate(hashes[:frames]):
        if i and rng.random() < 0.15:
            h = hashes[i - 1]  # a repeated frame (a still moment): deduplicated
        quality = int(rng.integers(0, 50)) if rng.random() < low_quality_share else int(rng.integers(50, 101))
        out.append(VpdqFeature(i * 30, float(i), quality, _flip(h, int(rng.integers(0, noise + 1)), rng)))
    return out


@pytest.mark.parametrize("seed", range(6))
def test_percentages_equal_the_pairwise_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    originals = [_video(rng, int(rng.integers(5, 40))) for _ in range(8)]
    index = VideoIndex()
    for entry, video in enumerate(originals):
        index.add(entry, video, bank="b")
    for original in originals[:4]:
        base = [f.hash for f in original]
        query = _video(rng, len(base), base=base, noise=40)  # some frames drift past 31 bits
        everything = VideoThresholds(query_match_percent=0.0)
        got = {m.entry: (m.query_match_percent, m.compared_match_percent) for m in index.query(query, everything)}
        for entry, banked in enumerate(originals):
            expected = compare_videos(query, banked)
            if expected[0] > 0:
                assert got[entry] == pytest.approx(expected), entry
            else:
                assert entry not in got


def test_thresholds_decide_and_can_differ_per_bank() -> None:
    rng = np.random.default_rng(7)
    banked = _video(rng, 20, low_quality_share=0)
    prepared = prepare_features(banked)
    half = prepared[: len(prepared) // 2]
    others = _video(rng, len(prepared) - len(half), low_quality_share=0)
    query = [VpdqFeature(i, float(i), f.quality, f.hash) for i, f in enumerate([*half, *others])]
    index = VideoIndex()
    index.add("strict", banked, bank="strict-bank")
    index.add("loose", banked, bank="loose-bank")
    expected_query_percent = len(half) * 100 / len(prepare_features(query))
    assert 40 <= expected_query_percent <= 60
    assert index.query(query) == []  # 80% by default
    rules = {"loose-bank": VideoThresholds(query_match_percent=40.0)}
    (match,) = index.query(query, rules)
    assert match.entry == "loose"
    assert match.query_match_percent == pytest.approx(expected_query_percent)
    assert match.compared_match_percent == pytest.approx(len(half) * 100 / len(prepared))
    assert match.query_ranges == (TimeRange(0.0, float(len(half) - 1)),)
    strict_compared = {"loose-bank": VideoThresholds(query_match_percent=40.0, compared_match_percent=90.0)}
    assert index.query(query, strict_compared) == []


def test_removed_and_replaced_videos_stop_matching() -> None:
    rng = np.random.default_rng(8)
    first, second = _video(rng, 12, low_quality_share=0), _video(rng, 12, low_quality_share=0)
    index = VideoIndex()
    index.add(1, first)
    assert [m.entry for m in index.query(first)] == [1]
    index.add(1, second)  # same entry, new content
    assert index.query(first) == []
    assert [m.entry for m in index.query(second)] == [1]
    assert index.remove(1) and index.query(second) == [] and index.frames == 0


def test_low_quality_frames_never_match() -> None:
    rng = np.random.default_rng(9)
    flat = [VpdqFeature(i, float(i), 49, f) for i, f in enumerate(h.hash for h in _video(rng, 10))]
    index = VideoIndex()
    assert index.add("flat", flat) == 0
    assert index.query(flat, VideoThresholds(query_match_percent=0.0)) == []


def test_time_ranges_break_where_a_sampled_frame_did_not_match() -> None:
    sampled = [VpdqFeature(i, float(i), 90, f"{i:064x}") for i in range(10)]
    matched = [sampled[i] for i in (1, 2, 3, 6, 9)]
    assert time_ranges(matched, sampled) == (TimeRange(1.0, 3.0), TimeRange(6.0, 6.0), TimeRange(9.0, 9.0))


def test_frames_are_found_in_an_image_index_with_their_times() -> None:
    rng = np.random.default_rng(10)
    video = _video(rng, 30, low_quality_share=0)
    picture = video[12].hash
    still = [VpdqFeature(f.frame_number, f.timestamp, f.quality, _flip(picture, 3, rng)) if 12 <= i < 15 else f
             for i, f in enumerate(video)]
    images = BruteForcePDQIndex.build([501, 502], [picture, f"{int.from_bytes(rng.bytes(32), 'big'):064x}"])
    hits = match_frames_to_images(still, images)
    assert {h.entry_id for h in hits} == {501}
    assert [h.timestamp for h in hits] == [12.0, 13.0, 14.0]
    assert all(h.distance <= 3 for h in hits)
