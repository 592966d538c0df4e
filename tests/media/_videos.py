"""Benign synthetic videos for the tests and benchmarks, written with PyAV.

Every clip is drawn from a seed: shots of scikit-image's sample photos with a slow pan,
moving shapes, a caption and light noise, so consecutive seconds differ (a video of one
still image would make every sampled frame the same hash). Altered copies (re-encoded, resized, trimmed,
letterboxed, with a still inserted) are made from the same drawn frames, the way a
re-upload would be made from the original.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cache
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw
from skimage import data

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
    audio: bool = False  # add a mono tone track (FLAC)

    @property
    def frame_count(self) -> int:
        return int(round(self.seconds * float(self.fps)))


#: scikit-image's bundled sample photos used as scenery (the astronaut is kept for "a known still").
SCENERY = ("coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field", "retina", "stereo_motorcycle")
SHOT_SECONDS = 4.0


@cache
def photo(name: str) -> Image.Image:
    """A scikit-image sample photo as an RGB Pillow image."""
    pixels = getattr(data, name)()
    if isinstance(pixels, tuple):
        pixels = pixels[0]
    return Image.fromarray(pixels).convert("RGB")


def draw_frame(seed: int, index: int, width: int, height: int, fps: float = 25.0) -> np.ndarray:
    """Frame ``index`` (at ``fps``) of clip ``seed`` as RGB pixels.

    Shots of :data:`SHOT_SECONDS`, each a crop of a sample photo with a slow pan, a few moving
    shapes, a caption with the time and light noise. PDQ moves by ~40 bits for a 3% shift of
    the picture, so the motion is gentle, as in most real footage: frames within half a second
    stay well inside the match distance, which is what lets a trimmed copy (whose sampled frames
    fall between the original's) match at all.
    """
    t = index / fps
    shot = int(t // SHOT_SECONDS)
    rng = np.random.default_rng([seed, shot])
    source = photo(SCENERY[int(rng.integers(len(SCENERY)))])
    full_w, full_h = source.size
    crop_w, crop_h = full_w * 0.6, full_h * 0.6
    x0 = rng.uniform(0.1 * full_w, 0.3 * full_w)
    y0 = rng.uniform(0.1 * full_h, 0.3 * full_h)
    pan_x, pan_y = rng.uniform(-0.001, 0.001, size=2) * (full_w, full_h)
    since = t - shot * SHOT_SECONDS
    box = (x0 + pan_x * since, y0 + pan_y * since, x0 + pan_x * since + crop_w, y0 + pan_y * since + crop_h)
    image = source.resize((width, height), Image.Resampling.BILINEAR, box=box)
    draw = ImageDraw.Draw(image)
    colours = rng.integers(0, 256, size=(3, 3))
    speeds = rng.uniform(-0.03, 0.03, size=(3, 2))
    starts = rng.uniform(0.2, 0.8, size=(3, 2))
    for k in range(3):
        cx = (starts[k, 0] + speeds[k, 0] * t) % 1.0 * width
        cy = (starts[k, 1] + speeds[k, 1] * t) % 1.0 * height
        r = (0.04 + 0.02 * k) * min(width, height)
        (draw.ellipse if k % 2 else draw.rectangle)((cx - r, cy - r, cx + r, cy + r),
                                                     fill=tuple(int(c) for c in colours[k]))
    draw.text((8, 8), f"clip {seed} t={t:.2f}s", fill=(255, 255, 255))
    pixels = np.asarray(image).astype(np.int16)
    noise = np.random.default_rng([seed, index, 7]).integers(-6, 7, size=pixels.shape)
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
        if clip.audio:
            sound = out.add_stream("flac", rate=8000, layout="mono")
            tone = (np.sin(np.arange(int(8000 * clip.seconds)) * 0.05) * 8000).astype(np.int16)[None, :]
            chunk = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
            chunk.sample_rate, chunk.pts = 8000, 0
            for packet in [*sound.encode(chunk), *sound.encode()]:
                out.mux(packet)
        source = frames if frames is not None else (
            draw_frame(clip.seed, clip.start_frame + i, clip.width, clip.height, float(clip.fps)) for i in range(clip.frame_count))
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
        pixels = draw_frame(clip.seed, clip.start_frame + i, clip.width, clip.height, float(clip.fps))
        yield np.asarray(Image.fromarray(pixels).resize((width, height), Image.Resampling.BILINEAR))


def letterboxed(clip: Clip, bar: int) -> Iterator[np.ndarray]:
    """The clip's frames squeezed between black bars of ``bar`` pixels top and bottom (same frame size)."""
    for i in range(clip.frame_count):
        pixels = draw_frame(clip.seed, clip.start_frame + i, clip.width, clip.height, float(clip.fps))
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
            yield draw_frame(clip.seed, clip.start_frame + i, clip.width, clip.height, float(clip.fps))


def trimmed(clip: Clip, head_s: float, tail_s: float) -> Clip:
    """The same clip with ``head_s`` seconds cut from the start and ``tail_s`` from the end."""
    skip = int(round(head_s * float(clip.fps)))
    return replace(clip, start_frame=clip.start_frame + skip, seconds=clip.seconds - head_s - tail_s)
