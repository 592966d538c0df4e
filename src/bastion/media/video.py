"""vPDQ of an untrusted video: one PDQ hash per sampled frame, as Meta's ``vpdq`` computes it.

Why each step is the way it is (the reference is ``vpdq``'s ``hashVideoFile``, the
hasher python-threatexchange and HMA use, so hashes must agree with it):

* **Which frames.** The first video stream is decoded in full (inter-frame codecs need
  every frame) and frames are numbered in decoder output order from 0. With the
  stream's average frame rate ``r`` (its base rate when the average is unknown),
  frame ``n`` is sampled when ``n % max(1, int(seconds_per_hash * r)) == 0``.
  ``seconds_per_hash=0`` samples every frame.
* **Its timestamp** is ``float32(n) / float32(r)``: the reference computes it in single
  precision, so we do too, and the values agree to the last bit.
* **Its pixels.** Only sampled frames are converted to RGB (the reference converts only
  those too); conversion is at the coded size with the BT.601 matrix whatever the stream
  declares (the reference never passes the stream's colour space to swscale) and the
  frame's own range (full for JPEG-range streams).
* **Its hash** is PDQ of the full-size RGB frame (``pdqhash``, the same C++ code).

The PDQ of a frame can differ from the reference's by a few bits where this FFmpeg's
RGB conversion rounds differently from the one ``vpdq`` was built against; the tests
measure that distance. Audio is never decoded. Every refusal is a :class:`MediaError` whose code is ``unsupported_media``
(not a video we decode, or damaged), ``too_large`` (over a :class:`VideoLimits` cap) or
``decode_timeout``. Limits (:class:`VideoLimits`) are
checked from the headers and again frame by frame; run untrusted files through
:func:`bastion.media.video_isolation.hash_video_untrusted`, which adds a separate,
memory-capped process and a hard time limit.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Final

import av
from av.stream import Discard
import numpy as np

from bastion.media.digests import compute_digests
from bastion.media.errors import MediaError, UnsupportedMedia
from bastion.media.pdq import pdq_hash
from bastion.media.signal_types import validate_pdq
from bastion.media.video_formats import check_codec, container_of
from bastion.media.video_limits import DEFAULT_VIDEO_LIMITS, DecodeTimeout, VideoLimits

DEFAULT_SECONDS_PER_HASH: Final = 1.0
#: Frames below this PDQ quality are dropped before matching (python-threatexchange's value).
VPDQ_QUALITY_THRESHOLD: Final = 50
#: Frames match when their PDQ hashes are at most this many bits apart.
VPDQ_DISTANCE_THRESHOLD: Final = 31
#: The reference refuses frames smaller than this on either side.
MIN_HASHABLE_SIDE: Final = 5
_HEAD_BYTES: Final = 4096

VPDQ: Final = "vpdq"
VIDEO_MD5: Final = "video_md5"

#: Called with (frames decoded so far, seconds of video decoded so far, the duration its headers declare or None).
Progress = Callable[[int, float, "float | None"], None]


@dataclass(frozen=True, slots=True)
class VpdqFeature:
    """One sampled frame: its number in decode order, time in seconds, PDQ quality and hash."""

    frame_number: int
    timestamp: float
    quality: int
    hash: str

    def compact(self) -> str:
        """python-threatexchange's ``hex,quality,timestamp`` (timestamp to 3 significant digits, as it writes it)."""
        return f"{self.hash},{self.quality},{self.timestamp:.3}"


@dataclass(frozen=True, slots=True)
class VideoHashes:
    """The vPDQ features of a video, the digests of its bytes, and what the decoder saw."""

    md5: str
    sha256: str
    features: tuple[VpdqFeature, ...]
    width: int
    height: int
    frame_rate: float
    frames_decoded: int
    duration_seconds: float
    codec: str
    container: str
    seconds_per_hash: float

    def signal_string(self) -> str:
        """The vPDQ signal in python-threatexchange's format (a JSON list of compact features)."""
        return features_to_signal(self.features)


def hash_video_file(path: str | os.PathLike[str], limits: VideoLimits = DEFAULT_VIDEO_LIMITS, *,
                    seconds_per_hash: float = DEFAULT_SECONDS_PER_HASH,
                    progress: Progress | None = None) -> VideoHashes:
    """vPDQ and digests of a video file, in this process, or a :class:`MediaError`.

    For files from outside use :func:`bastion.media.video_isolation.hash_video_untrusted`.
    """
    if seconds_per_hash < 0 or seconds_per_hash != seconds_per_hash:
        raise ValueError(f"seconds_per_hash must be 0 or more, got {seconds_per_hash!r}")
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size == 0:
            raise UnsupportedMedia("The file is empty (0 bytes). Choose a video file and try again.")
        limits.check_bytes(size)
        container_name = container_of(file.read(_HEAD_BYTES))
        file.seek(0)
        digests = compute_digests(file)
    deadline = time.monotonic() + limits.max_decode_seconds
    with _opened(path, container_name) as container:
        stream = _video_stream(container, limits)
        rate = _frame_rate(stream)
        every = max(1, int(seconds_per_hash * float(rate)))
        width, height = stream.codec_context.width, stream.codec_context.height
        features: list[VpdqFeature] = []
        count, last_time = 0, 0.0
        declared = container.duration / av.time_base if container.duration and container.duration > 0 else None
        if progress is not None:
            progress(0, 0.0, declared)
        for frame in _frames(container, stream, limits, deadline):
            if count % every == 0:
                features.append(_feature(frame, count, rate, width, height))
            count += 1
            if frame.time is not None:
                last_time = max(last_time, float(frame.time))
                limits.check_duration(last_time)
            limits.check_frames(count)
            if progress is not None and count % 64 == 0:
                progress(count, last_time, declared)
    if count == 0:
        raise UnsupportedMedia("The video holds no decodable frames; the file is damaged or truncated. "
                           "Send the original file again.")
    return VideoHashes(md5=digests.md5, sha256=digests.sha256, features=tuple(features), width=width,
                       height=height, frame_rate=float(rate), frames_decoded=count,
                       duration_seconds=count / float(rate), codec=stream.codec_context.name,
                       container=container_name, seconds_per_hash=seconds_per_hash)


class _opened:
    """``av.open`` with the sniffed demuxer only, FFmpeg's errors as ours, and closing guaranteed."""

    def __init__(self, path: str | os.PathLike[str], container_name: str) -> None:
        self.path, self.container_name = os.fspath(path), container_name
        self.container: Any = None

    def __enter__(self) -> Any:
        with _ffmpeg_errors():
            # no network or other files: the demuxer may read this one file and nothing else
            self.container = av.open(self.path, "r", format=self.container_name,
                                     options={"protocol_whitelist": "file", "enable_drefs": "0"})
        return self.container

    def __exit__(self, *exc: object) -> None:
        if self.container is not None:
            self.container.close()


def _video_stream(container: Any, limits: VideoLimits) -> Any:
    """The first video stream (as the reference takes it), checked against the caps; audio is discarded."""
    videos = list(container.streams.video)
    if not videos:
        raise UnsupportedMedia("The file holds no video stream. Send a video file.")
    stream = videos[0]
    for other in container.streams:
        if other.index != stream.index:
            other.discard = Discard.all  # never decoded, and FFmpeg may skip reading them
    check_codec(stream.codec_context.name)
    width, height = stream.codec_context.width, stream.codec_context.height
    if width < MIN_HASHABLE_SIDE or height < MIN_HASHABLE_SIDE:
        raise UnsupportedMedia(f"The video's frames are {width}x{height}; frames under {MIN_HASHABLE_SIDE} pixels "
                               "on a side cannot be hashed. Send the original video.")
    limits.check_pixels(width, height)
    if container.duration is not None and container.duration > 0:
        limits.check_duration(container.duration / av.time_base)
    if stream.frames:
        limits.check_frames(int(stream.frames))
    stream.thread_type = "AUTO"
    return stream


def _frame_rate(stream: Any) -> Fraction:
    for rate in (stream.average_rate, stream.base_rate):
        if rate is not None and rate.numerator != 0 and rate.denominator != 0:
            return Fraction(rate.numerator, rate.denominator)
    raise UnsupportedMedia("The video does not declare a frame rate, so its frames cannot be timed. "
                           "Re-encode it (e.g. to MP4) and try again.")


def _frames(container: Any, stream: Any, limits: VideoLimits, deadline: float) -> Iterator[Any]:
    """Decoded frames of ``stream`` within the pixel cap and the time limit."""
    with _ffmpeg_errors():
        for packet in container.demux(stream):
            if time.monotonic() > deadline:
                raise DecodeTimeout(f"Decoding took longer than {limits.max_decode_seconds} seconds, the limit, so "
                                    "it was stopped. Send a shorter clip or one at a lower resolution.")
            for frame in packet.decode():
                limits.check_pixels(frame.width, frame.height)
                yield frame


def _feature(frame: Any, number: int, rate: Fraction, width: int, height: int) -> VpdqFeature:
    rgb = frame.reformat(width=width, height=height, format="rgb24", src_colorspace="ITU601",
                         dst_colorspace="ITU601", interpolation="AREA",
                         src_color_range=frame.color_range).to_ndarray()
    hashed = pdq_hash(np.ascontiguousarray(rgb))
    timestamp = float(np.float32(number) / np.float32(float(rate)))
    return VpdqFeature(number, timestamp, hashed.quality, hashed.hex)


class _ffmpeg_errors:
    """FFmpeg's exceptions on hostile input, as typed media errors."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None or isinstance(exc, MediaError) or not isinstance(exc, (av.FFmpegError, ValueError,
                                                                              EOFError, OSError)):
            return False
        if isinstance(exc, (av.error.InvalidDataError, EOFError)):
            raise UnsupportedMedia("The video is truncated or damaged and could not be decoded. Send the original "
                               "file again.") from exc
        if isinstance(exc, (av.error.DecoderNotFoundError, av.error.PatchWelcomeError)):
            raise UnsupportedMedia("The video uses a feature or codec this decoder does not support. Convert it "
                                   "to MP4 (H.264) and try again.") from exc
        raise UnsupportedMedia("The video could not be decoded (the decoder reported: "
                           f"{type(exc).__name__}). Send the original file again.") from exc


# --- python-threatexchange's signal format and matching rules ------------------------------------------


def features_to_signal(features: Iterable[VpdqFeature]) -> str:
    """A JSON list of ``"hex,quality,timestamp"`` strings: python-threatexchange's vPDQ signal string."""
    return json.dumps([feature.compact() for feature in features])


def signal_to_features(signal: str) -> list[VpdqFeature]:
    """Parse python-threatexchange's vPDQ signal string; frame numbers are positions (the format drops them).

    Raises ``ValueError`` naming the bad element, as python-threatexchange does.
    """
    try:
        items = json.loads(signal or "[]")
    except json.JSONDecodeError as exc:
        raise ValueError(f"a vPDQ signal is a JSON list of \"hash,quality,timestamp\" strings: {exc}") from None
    if not isinstance(items, list):
        raise ValueError("a vPDQ signal is a JSON list of \"hash,quality,timestamp\" strings")
    features = []
    for position, item in enumerate(items):
        parts = item.split(",") if isinstance(item, str) else []
        try:
            pdq_hex, quality_text, time_text = parts
            quality, timestamp = int(quality_text), float(time_text)
            if len(pdq_hex) != 64:
                raise ValueError(pdq_hex)
            pdq_hex = validate_pdq(pdq_hex)
        except ValueError:
            raise ValueError(f"invalid vPDQ feature {item!r} at position {position}: expected "
                             "\"<64 hex>,<quality 0-100>,<seconds>\"") from None
        if not 0 <= quality <= 100 or timestamp < 0 or timestamp != timestamp:
            raise ValueError(f"invalid vPDQ feature {item!r} at position {position}: quality must be 0-100 and "
                             "the timestamp 0 or more")
        features.append(VpdqFeature(position, timestamp, quality, pdq_hex))
    return features


def prepare_features(features: Iterable[VpdqFeature],
                     quality_threshold: int = VPDQ_QUALITY_THRESHOLD) -> list[VpdqFeature]:
    """The frames matching uses: quality at least the threshold, then the first of each distinct hash.

    This is python-threatexchange's ``prepare_vpdq_feature`` order (filter, then dedupe), which its
    index applies to both the query and the banked video.
    """
    seen: set[str] = set()
    kept = []
    for feature in features:
        if feature.quality >= quality_threshold and feature.hash not in seen:
            seen.add(feature.hash)
            kept.append(feature)
    return kept


__all__ = [
    "DEFAULT_SECONDS_PER_HASH",
    "VIDEO_MD5",
    "VPDQ",
    "VPDQ_DISTANCE_THRESHOLD",
    "VPDQ_QUALITY_THRESHOLD",
    "VideoHashes",
    "VpdqFeature",
    "features_to_signal",
    "hash_video_file",
    "prepare_features",
    "signal_to_features",
]
