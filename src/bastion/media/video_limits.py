"""Caps on one untrusted video, checked before and while it is decoded.

A video is a promise about work: a few kilobytes can declare hours of 8K frames,
and a decoder loop can be made to spin. Each cap below bounds one of those costs,
and each is checked as early as the container allows (the byte length before
anything is opened, declared dimensions and duration from the headers, the rest
frame by frame while decoding), so a hostile file stops cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Final

from bastion.media.errors import MediaError, MediaTooLarge

MIB: Final = 1024 * 1024


class DecodeTimeout(MediaError):
    """Decoding took longer than a video may take (a hostile or pathological file)."""

    code = "decode_timeout"
    status = 422


@dataclass(frozen=True, slots=True)
class VideoLimits:
    """What one video may cost.

    The defaults admit an hour of 4K video at 60 frames a second in at most half a GiB;
    a deployment that sees longer material raises them (and the decode time with them).
    ``max_decode_seconds`` is wall-clock time for the whole decode; the isolated decoder
    is killed a little after it, so even a decoder stuck inside FFmpeg cannot hang a worker.
    """

    max_bytes: int = 512 * MIB
    max_duration_seconds: int = 3600
    max_pixels: int = 3840 * 2160
    max_frames: int = 3600 * 60
    max_decode_seconds: int = 600

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"VideoLimits.{field.name} must be a positive int, got {value!r}")

    def check_bytes(self, size: int) -> None:
        """Raise :class:`MediaTooLarge` when ``size`` bytes exceed ``max_bytes``."""
        if size > self.max_bytes:
            raise MediaTooLarge(
                f"The video is {size:,} bytes, over the {self.max_bytes:,}-byte limit. Send a shorter or "
                "smaller video, or ask an administrator to raise the video size limit.")

    def check_pixels(self, width: int, height: int) -> None:
        if width * height > self.max_pixels:
            raise MediaTooLarge(
                f"The video's frames are {width}x{height} = {width * height:,} pixels, over the "
                f"{self.max_pixels:,}-pixel limit, so it was not decoded. Send it at a lower resolution.")

    def check_duration(self, seconds: float) -> None:
        if seconds > self.max_duration_seconds:
            raise MediaTooLarge(
                f"The video runs (or declares) {seconds:,.0f} seconds, over the {self.max_duration_seconds:,}-"
                "second limit. Send a shorter clip, or ask an administrator to raise the limit.")

    def check_frames(self, count: int) -> None:
        if count > self.max_frames:
            raise MediaTooLarge(
                f"The video holds more than {self.max_frames:,} frames, the limit, so decoding stopped. "
                "Send a shorter clip or one at a lower frame rate.")


DEFAULT_VIDEO_LIMITS: Final = VideoLimits()
