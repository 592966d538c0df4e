"""Altered copies of a banked video are found; unrelated videos are not; a known still is found inside a video.

Real files, generated with PyAV and hashed by Bastion's decoder, matched through the
video index with python-threatexchange's default rule (80% of the query's frames).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bastion.matching import MIHPDQIndex
from bastion.matching.video import VideoIndex, match_frames_to_images
from bastion.media.pdq import pdq_hash
from bastion.media.video import VpdqFeature, hash_video_file
from tests.media._videos import Clip, letterboxed, photo, resized, trimmed, with_still, write_clip

ORIGINAL = Clip(seed=31, seconds=10)
OTHERS = (Clip(seed=32, seconds=10), Clip(seed=33, seconds=12, fps=30))


def _features(directory: Path, name: str, clip: Clip, frames: object = None) -> list[VpdqFeature]:
    suffix = {"avi": "avi", "webm": "webm", "matroska": "mkv"}.get(clip.container, "mp4")
    return list(hash_video_file(write_clip(directory / f"{name}.{suffix}", clip, frames)).features)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> VideoIndex:
    directory = tmp_path_factory.mktemp("bank")
    index = VideoIndex()
    index.add("original", _features(directory, "original", ORIGINAL), bank="videos")
    for k, clip in enumerate(OTHERS):
        index.add(f"other-{k}", _features(directory, f"other-{k}", clip), bank="videos")
    return index


ALTERED = {
    "re-encoded MPEG-4 at 300 kb/s in AVI": (replace(ORIGINAL, codec="mpeg4", container="avi", bit_rate=300_000), None),
    "re-encoded VP9 in WebM": (replace(ORIGINAL, codec="libvpx-vp9", container="webm", bit_rate=300_000), None),
    "resized to half": (replace(ORIGINAL, width=160, height=120), lambda: resized(ORIGINAL, 160, 120)),
    "resized up to 640x480": (replace(ORIGINAL, width=640, height=480), lambda: resized(ORIGINAL, 640, 480)),
    "re-timed to 30 frames a second": (replace(ORIGINAL, fps=30), None),
    "trimmed 1.3 s and 1.7 s": (trimmed(ORIGINAL, 1.3, 1.7), None),
    "trimmed 0.5 s and re-encoded": (replace(trimmed(ORIGINAL, 0.5, 0.5), codec="mpeg4", container="avi"), None),
    "with a still shown for 2 s": (ORIGINAL, lambda: with_still(ORIGINAL, np.asarray(photo("astronaut")), 3.0, 2.0)),
}


@pytest.mark.parametrize("name", sorted(ALTERED))
def test_an_altered_copy_matches_its_original_only(bank: VideoIndex, tmp_path: Path, name: str) -> None:
    clip, frames = ALTERED[name]
    query = _features(tmp_path, "copy", clip, frames() if frames else None)
    matches = bank.query(query)
    assert [m.entry for m in matches] == ["original"], matches
    (match,) = matches
    assert match.query_match_percent >= 80.0
    assert match.query_ranges and match.compared_ranges
    assert match.best_distance <= 31


@pytest.mark.parametrize("seed", [40, 41, 42])
def test_unrelated_videos_match_nothing(bank: VideoIndex, tmp_path: Path, seed: int) -> None:
    assert bank.query(_features(tmp_path, "unrelated", replace(ORIGINAL, seed=seed))) == []


def test_letterboxing_defeats_frame_hashes_as_it_does_in_the_reference(bank: VideoIndex, tmp_path: Path) -> None:
    """Known limit, kept visible: PDQ of a letterboxed frame is far from the original (no bar cropping yet)."""
    query = _features(tmp_path, "letterboxed", ORIGINAL, letterboxed(ORIGINAL, 30))
    assert bank.query(query) == []


def test_a_known_still_is_found_inside_a_video_with_its_time(tmp_path: Path) -> None:
    astronaut = np.asarray(photo("astronaut"))
    images = MIHPDQIndex.build([7, 8], [pdq_hash(astronaut).hex, pdq_hash(np.asarray(photo("coffee"))).hex])
    video = _features(tmp_path, "with-still", ORIGINAL, with_still(ORIGINAL, astronaut, 3.0, 2.0))
    hits = match_frames_to_images(video, images)
    assert {h.entry_id for h in hits} == {7}
    assert [h.timestamp for h in hits] == [3.0, 4.0]
    unaltered = _features(tmp_path, "plain", ORIGINAL)
    assert match_frames_to_images(unaltered, images) == []
