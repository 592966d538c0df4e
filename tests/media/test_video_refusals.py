"""Malformed, hostile and oversized videos are refused with a typed error, through the isolated decoder.

Every case goes through :func:`hash_video_untrusted` (a separate process), so these also
show that a refusal in the decoder process reaches the caller as the right error.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest

from bastion.media import MediaError
from bastion.media.video import hash_video_file
from bastion.media.video_isolation import DecoderCrashed, VideoSlots, hash_video_untrusted, run_isolated
from bastion.media.video_limits import DecodeTimeout, VideoLimits
from bastion.media.isolation import DecoderBusy

from ._videos import Clip, write_clip

SMALL = Clip(seed=3, seconds=3, width=160, height=120)


@pytest.fixture(scope="module")
def good(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return write_clip(tmp_path_factory.mktemp("good") / "good.mp4", SMALL).read_bytes()


def _refused(data: bytes | Path, limits: VideoLimits = VideoLimits()) -> MediaError:
    with pytest.raises(MediaError) as caught:
        hash_video_untrusted(data, limits)
    assert caught.value.message and caught.value.status < 500
    return caught.value


def test_a_good_video_is_hashed_in_the_isolated_process(good: bytes) -> None:
    hashes = hash_video_untrusted(good)
    assert len(hashes.features) == 3 and hashes.frames_decoded == 75 and (hashes.width, hashes.height) == (160, 120)
    assert hashes.md5 == __import__("hashlib").md5(good).hexdigest()
    assert hashes.sha256 == __import__("hashlib").sha256(good).hexdigest()


@pytest.mark.parametrize("data", [
    b"",
    b"just some text, not a video\n" * 50,
    b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n",  # HLS: would open other files
    b"ffconcat version 1.0\nfile /etc/passwd\n",
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,  # an image is not a video
])
def test_what_is_not_a_supported_container_is_unsupported(data: bytes) -> None:
    assert _refused(data).code == "unsupported_media"


@pytest.mark.parametrize("keep", [8, 100, 2000, 0.5])
def test_truncated_files_are_refused_not_crashed_on(good: bytes, keep: float) -> None:
    cut = good[: int(len(good) * keep)] if isinstance(keep, float) else good[:keep]
    assert _refused(cut).code == "unsupported_media"


def test_garbage_after_a_valid_header_is_refused(good: bytes) -> None:
    noise = np.random.default_rng(0).integers(0, 256, size=len(good) - 64, dtype=np.uint8).tobytes()
    assert _refused(good[:64] + noise).code == "unsupported_media"


def test_a_codec_off_the_allow_list_is_unsupported(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "png-in-avi.avi", replace(SMALL, codec="png", container="avi",
                                                             pix_fmt="rgb24", bit_rate=0))
    error = _refused(path)
    assert error.code == "unsupported_media" and "png" in error.message


def test_a_file_with_audio_only_has_no_video(tmp_path: Path) -> None:
    path = tmp_path / "audio.mkv"
    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 8000), dtype=np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    assert "no video" in _refused(path).message


def test_audio_is_ignored(tmp_path: Path) -> None:
    """A video with a sound track hashes exactly like the same video without one."""
    silent = write_clip(tmp_path / "silent.mkv", replace(SMALL, container="matroska", codec="mpeg4"))
    with_sound = write_clip(tmp_path / "sound.mkv", replace(SMALL, container="matroska", codec="mpeg4", audio=True))
    plain, sounded = hash_video_file(silent), hash_video_file(with_sound)
    assert plain.features == sounded.features and plain.md5 != sounded.md5


def test_huge_dimensions_are_too_large_before_decoding(tmp_path: Path) -> None:
    path = write_clip(tmp_path / "huge.mp4", Clip(seed=1, seconds=0.12, width=4096, height=2304, codec="mpeg4"),
                      frames=iter([np.zeros((2304, 4096, 3), dtype=np.uint8)] * 3))
    error = _refused(path)
    assert error.code == "too_large" and "4096x2304" in error.message


@pytest.mark.parametrize(("limits", "words"), [
    (VideoLimits(max_bytes=1000), "bytes"),
    (VideoLimits(max_duration_seconds=2), "seconds"),
    (VideoLimits(max_frames=40), "frames"),
    (VideoLimits(max_pixels=160 * 100), "pixels"),
])
def test_each_limit_refuses_with_too_large(good: bytes, limits: VideoLimits, words: str) -> None:
    error = _refused(good, limits)
    assert error.code == "too_large" and words in error.message


def test_decoding_past_the_time_limit_stops_with_decode_timeout(good: bytes, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The decoder's own check: each packet looks at the clock (here, one that runs an hour per call)."""
    path = tmp_path / "v.mp4"
    path.write_bytes(good)
    ticks = iter(range(0, 10**9, 3600))
    monkeypatch.setattr("bastion.media.video.time.monotonic", lambda: float(next(ticks)))
    with pytest.raises(DecodeTimeout) as caught:
        hash_video_file(path)
    assert caught.value.code == "decode_timeout"


def test_a_decoder_that_hangs_is_killed_with_decode_timeout() -> None:
    started = time.monotonic()
    with pytest.raises(DecodeTimeout):
        run_isolated(time.sleep, 120, timeout=1)
    assert time.monotonic() - started < 100  # killed, not waited for


def test_a_decoder_that_crashes_leaves_the_caller_standing() -> None:
    with pytest.raises(DecoderCrashed) as caught:
        run_isolated(os.abort, timeout=30)
    assert caught.value.code == "unsupported_media"


def test_a_decoder_over_its_memory_cap_is_refused_as_too_large() -> None:
    with pytest.raises(MediaError) as caught:
        run_isolated(bytearray, 2 * 1024**3, timeout=30, memory_bytes=1024**3)
    assert caught.value.code == "too_large"


def test_video_slots_refuse_at_once_when_full() -> None:
    slots = VideoSlots(1)
    with slots.reserve(), pytest.raises(DecoderBusy):
        with slots.reserve():
            pass
    with slots.reserve():
        assert slots.in_use == 1


def test_a_slot_that_may_wait_gets_the_one_freed_meanwhile() -> None:
    import threading

    slots = VideoSlots(1, wait_seconds=60)
    held, got = threading.Event(), threading.Event()

    def second() -> None:
        with slots.reserve():
            got.set()

    with slots.reserve():
        waiter = threading.Thread(target=second)
        waiter.start()
        held.set()
        assert not got.wait(0.2)  # the only slot is taken: the second decode waits rather than being refused
    waiter.join(30)
    assert got.is_set() and slots.in_use == 0


def test_review_frames_take_the_processs_video_slot(tmp_path: Path) -> None:
    """The contact sheet's decoder counts against the same limit as hashing: with every slot taken it is refused."""
    from bastion.media import video_isolation
    from bastion.media.video_frames import sample_frames_untrusted, silent_copy_untrusted
    from tests.media._videos import Clip, write_clip

    path = write_clip(tmp_path / "clip.mp4", Clip(seed=4, seconds=1, width=64, height=48))
    video_isolation.configure(slots=1)
    try:
        with video_isolation.video_slot():
            with pytest.raises(DecoderBusy):
                sample_frames_untrusted(path, [0.0], 32)
            with pytest.raises(DecoderBusy):
                silent_copy_untrusted(path, tmp_path / "silent.mp4")
            with pytest.raises(DecoderBusy):
                hash_video_untrusted(path)
        assert [f.frame_number for f in sample_frames_untrusted(path, [0.0], 32)] == [0]
    finally:
        video_isolation.configure(slots=video_isolation.DEFAULT_VIDEO_SLOTS)
