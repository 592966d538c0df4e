"""Frames and a silent copy of a video, for review: decoded with the same caps and isolation as hashing.

Review needs two things from a video besides its hashes: a few small frames for a
contact sheet (and one larger frame when a reviewer reveals it), and, only when a
reviewer asks to play it, a copy with no audio track. Both read files from outside,
so both run in the isolated, memory-capped, time-limited decoder process and open
the file with the sniffed demuxer only.

A frame's time is its decode-order number over the frame rate, the same clock the
vPDQ features use, so a frame sampled at a matched feature's timestamp is the frame
that matched.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import av

from bastion.media.errors import UnsupportedMedia
from bastion.media.video import _ffmpeg_errors, _frame_rate, _frames, _opened, _video_stream
from bastion.media.video_formats import container_of
from bastion.media.video_isolation import GRACE_SECONDS, run_isolated, video_slot
from bastion.media.video_limits import DEFAULT_VIDEO_LIMITS, VideoLimits

_HEAD_BYTES = 4096
#: Where the silent copy goes: the same family of container, which the browser plays as it would the original.
_SILENT_FORMAT = {"mp4": ("mp4", "video/mp4"), "matroska": ("webm", "video/webm"), "ogg": ("ogg", "video/ogg")}


@dataclass(frozen=True)
class SampledFrame:
    """One decoded frame, scaled to fit `px` on its longer side, as raw RGB."""

    timestamp: float
    frame_number: int
    width: int
    height: int
    rgb: bytes


def sample_frames_file(path: str | os.PathLike[str], times: list[float], px: int,
                       limits: VideoLimits = DEFAULT_VIDEO_LIMITS) -> list[SampledFrame]:
    """The first frame at or after each of `times` (seconds), in this process; see `sample_frames_untrusted`."""
    with open(path, "rb") as file:
        limits.check_bytes(os.fstat(file.fileno()).st_size)
        container_name = container_of(file.read(_HEAD_BYTES))
    targets = sorted(set(times))
    found: list[SampledFrame] = []
    deadline = time.monotonic() + limits.max_decode_seconds
    with _opened(path, container_name) as container:
        stream = _video_stream(container, limits)
        rate = float(_frame_rate(stream))
        count, last = 0, None
        for frame in _frames(container, stream, limits, deadline):
            at = count / rate
            count += 1
            limits.check_frames(count)
            last = (frame, at, count - 1)
            while targets and at + 0.5 / rate >= targets[0]:
                targets.pop(0)
                found.append(_scaled(frame, at, count - 1, px))
            if not targets:
                break
        if targets and last is not None:  # times past the end: the last frame stands for them
            found.extend(_scaled(last[0], last[1], last[2], px) for _ in targets)
    if not found:
        raise UnsupportedMedia("The video holds no decodable frames; the file is damaged or truncated.")
    return found


def _scaled(frame: av.VideoFrame, at: float, number: int, px: int) -> SampledFrame:
    scale = min(1.0, px / max(frame.width, frame.height))
    width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
    rgb = frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_ndarray()
    return SampledFrame(round(at, 3), number, width, height, rgb.tobytes())


def sample_frames_untrusted(path: str | os.PathLike[str], times: list[float], px: int,
                            limits: VideoLimits = DEFAULT_VIDEO_LIMITS) -> list[SampledFrame]:
    """`sample_frames_file` in the isolated decoder process (a hostile file cannot take the server down).

    Holds one of the process's video slots while it decodes, as hashing does.
    """
    with video_slot():
        return run_isolated(sample_frames_file, os.fspath(path), times, px, limits,
                            timeout=limits.max_decode_seconds + GRACE_SECONDS)


def silent_copy_file(path: str | os.PathLike[str], out: str | os.PathLike[str],
                     limits: VideoLimits = DEFAULT_VIDEO_LIMITS) -> str:
    """Copy only the video stream of `path` to `out` (packets as they are: no re-encoding); returns its MIME type.

    The audio (and every other) track is left behind, so no sound can reach a reviewer.
    """
    with open(path, "rb") as file:
        limits.check_bytes(os.fstat(file.fileno()).st_size)
        container_name = container_of(file.read(_HEAD_BYTES))
    out_format, media_type = _SILENT_FORMAT.get(container_name, ("matroska", "video/x-matroska"))
    deadline = time.monotonic() + limits.max_decode_seconds
    with _opened(path, container_name) as source:
        stream = _video_stream(source, limits)
        with _ffmpeg_errors(), av.open(os.fspath(out), "w", format=out_format) as target:
            copy = target.add_stream_from_template(stream)
            for packet in source.demux(stream):
                if time.monotonic() > deadline:
                    raise UnsupportedMedia("The video took too long to prepare for playback.")
                if packet.dts is None:
                    continue
                packet.stream = copy
                target.mux(packet)
    return media_type


def silent_copy_untrusted(path: str | os.PathLike[str], out: str | os.PathLike[str],
                          limits: VideoLimits = DEFAULT_VIDEO_LIMITS) -> str:
    """`silent_copy_file` in the isolated decoder process, holding a video slot."""
    with video_slot():
        return run_isolated(silent_copy_file, os.fspath(path), os.fspath(Path(out)), limits,
                            timeout=limits.max_decode_seconds + GRACE_SECONDS)
