"""Benign synthetic videos for the tests and benchmarks, written with PyAV.

Every clip is drawn from a seed: moving shapes over a gradient, some texture noise and a
frame counter, so consecutive seconds differ (a video of one still image would make
every sampled frame the same hash). Altered copies (re-encoded, resized, trimmed,
letterboxed, with a still inserted) are made from the same drawn frames, the way a
re-upload would be made from the original.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

FrameFilter = Callable[[np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class Clip:
    """How to draw and encode one synthetic video."""

    seed: int = 1
    seconds: float = 6.0
    fps: Fraction | int = 25
    width: int = 320
    height: int = 240
    codec: str = "libx264"
    container: str = "mp4"
    bit_rate: int = 800_000
    pix_fmt: str = "yuv420p"
    start_frame: int = 0  # first drawn frame (trimming the start)
    options: tuple[tuple[str, str], ...] = ()

    @property
    def frame_count(self) -> int:
        return int(round(self.seconds * float(self.fps)))


def draw_frame(seed: int, index: int, width: int, height: int) -> np.ndarray:
    """Frame ``index`` of clip ``seed`` as RGB pixels: gradient, moving shapes, noise, a counter."""
    rng = np.random.default_rng(seed)
    colours = rng.integers(0, 256, size=(6, 3))
    speeds = rng.uniform(0.5, 3.0, size=(6, 2))
    phase = rng.uniform(0, 6.28, size=6)
    y, x = np.mgrid[0:height, 0:width]
    t = index / 25.0
    base = np.stack([
        (x * 255 // max(1, width - 1) + int(40 * t)) % 256,
        (y * 255 // max(1, height - 1)),
        ((x + y) * 128 // max(1, width + height) + int(seed * 37)) % 256,
    ], axis=-1).astype(np.uint8)
    image = Image.fromarray(base)
    draw = ImageDraw.Draw(image)
    for k in range(6):
        cx = (0.5 + 0.4 * np.sin(phase[k] + speeds[k, 0] * t)) * width
        cy = (0.5 + 0.4 * np.cos(phase[k] + speeds[k, 1] * t)) * height
        r = (0.08 + 0.04 * k) * min(width, height)
        box = (cx - r, cy - r, cx + r, cy + r)
        fill = tuple(int(c) for c in colours[k])
        (draw.ellipse if k % 2 else draw.rectangle)(box, fill=fill)
    draw.text((8, 8), f"clip {seed} frame {index}", fill=(255, 255, 255))
    pixels = np.asarray(image).astype(np.int16)
    noise = np.random.default_rng(seed * 100_003 + index).integers(-12, 13, size=pixels.shape)
    return np.clip(pixels + noise, 0, 255).astype(np.uint8)


def write_clip(path: Path, clip: Clip, frames: Iterator[np.ndarray] | None = None) -> Path:
    """Encode ``clip`` (or the given RGB frames at the clip's size and rate) to ``path``."""
    with av.open(str(path), "w", format=clip.container) as out:
        stream = out.add_stream(clip.codec, rate=clip.fps)
        stream.width, stream.height, stream.pix_fmt = clip.width, clip.height, clip.pix_fmt
        if clip.bit_rate:
            stream.bit_rate = clip.bit_rate
        if clip.options:
            stream.options = dict(clip.options)
        source = frames if frames is not None else (
            draw_frame(clip.seed, clip.start_frame + i, clip.width, clip.height) for i in range(clip.frame_count))
        for pixels in source:
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def make_clip(directory: Path, name: str, **fields: object) -> Path:
    clip = Clip(**fields)  # type: ignore[arg-type]
    return write_clip(directory / f"{name}.{_extension(clip.container)}", clip)


def _extension(container: str) -> str:
    return {"matroska": "mkv", "mpegts": "ts"}.get(container, container)


def resized(clip: Clip, width: int, height: int) -> Iterator[np.ndarray]:
    """The clip's frames drawn at full size and scaled down, as a re-upload at lower resolution."""
    for i in range(clip.frame_count):
        pixels = draw_frame(clip.seed, clip.start_frame + i, clip.width, clip.height)
        yield np.asarray(Image.fromarray(pixels).resize((width, height), Image.Resampling.BILINEAR))


def letterboxed(clip: Clip, bar: int) -> Iterator[np.ndarray]:
    """The clip's frames squeezed between black bars of ``bar`` pixels top and bottom (same frame size)."""
    for i in range(clip.frame_count):
        pixels = draw_frame(clip.seed, clip.start_frame + i, clip.width, clip.height)
        inner = np.asarray(Image.fromarray(pixels).resize((clip.width, clip.height - 2 * bar)))
        out = np.zeros_like(pixels)
        out[bar:bar + inner.shape[0]] = inner
        yield out


def with_still(clip: Clip, still: np.ndarray, start_s: float, seconds: float) -> Iterator[np.ndarray]:
    """The clip with ``still`` (RGB, scaled to fit) shown from ``start_s`` for ``seconds``."""
    fps = float(clip.fps)
    shown = np.asarray(Image.fromarray(still).resize((clip.width, clip.height)))
    for i in range(clip.frame_count):
        if start_s * fps <= i < (start_s + seconds) * fps:
            yield shown
        else:
            yield draw_frame(clip.seed, clip.start_frame + i, clip.width, clip.height)


def trimmed(clip: Clip, head_s: float, tail_s: float) -> Clip:
    """The same clip with ``head_s`` seconds cut from the start and ``tail_s`` from the end."""
    skip = int(round(head_s * float(clip.fps)))
    return replace(clip, start_frame=clip.start_frame + skip, seconds=clip.seconds - head_s - tail_s)
