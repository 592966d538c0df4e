"""Reviewing a video without being exposed to more of it than the reviewer chooses.

The default view is a contact sheet: a few frames sampled across the video, plus the
frames that matched, decoded in the isolated decoder, scaled down and rendered on the
server, blurred and greyscale (per the reviewer's settings, which default to both). The
browser never receives an unblurred frame it was not asked for.

A reviewer reveals one frame at a time, in the image stages (blurred grey, sharp grey, colour,
one audited step each); each reveal counts as one exposure, exactly like revealing an image,
and is one page load long. Playback happens only on an explicit
request ("play"), which grants that reviewer a bounded number of watched seconds for that
item (the video's length, plus a little slack). The video served is a copy of the video
stream alone, so there is no sound to hear; the page shows it muted, without autoplay,
blurred and greyscale by CSS until the reviewer unblurs it. The player reports the seconds
actually played; they are added to the day's exposure, never more than the grant.

Why CSS blur for playback rather than a server-blurred re-encode: re-encoding a long video
for every play costs minutes of CPU per request, and playback is already an explicit,
audited choice that follows a blurred contact sheet; what CSS cannot protect against is a
reviewer deliberately removing it, which is not the risk this guards.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw, ImageFilter, ImageOps
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.banks.models import EntrySignal
from bastion.cases import break_timer, wellness
from bastion.cases.errors import NotRevealed
from bastion.cases.models import CaseItem, ReviewerPreference
from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.scanning.models import Scan

SHEET_FRAMES = 9
MAX_MATCHED_FRAMES = 6
TILE_PX = 160
REVEAL_PX = 960
MATCH_DISTANCE = 31
REPORT_MAX_SECONDS = 60  # one report from the player covers at most this much playing
PLAY_SLACK_SECONDS = 2
FRAME_KEY = "session.revealed_frame"
PLAY_KEY = "session.video_play"
_GAP = 4


@dataclass(frozen=True)
class SheetFrame:
    """One tile of the contact sheet: its position, time, and whether a bank frame matched there."""

    index: int
    timestamp: float
    matched: bool

    @property
    def label(self) -> str:
        minutes, seconds = divmod(self.timestamp, 60)
        return f"{int(minutes)}:{seconds:04.1f}"


@dataclass(frozen=True)
class VideoFacts:
    duration: float
    features: list[tuple[float, str]]  # (timestamp, PDQ hex) of the vPDQ frames the scan kept


def is_video(scan: Scan | None) -> bool:
    return scan is not None and scan.media_format == "video"


def facts(scan: Scan) -> VideoFacts:
    """What the scan recorded about the video (duration and vPDQ); the media itself is not needed."""
    try:
        video = json.loads(scan.metadata_json or "{}").get("bastion_video") or {}
        compact = json.loads(video.get("vpdq") or "[]")
    except (ValueError, AttributeError):
        video, compact = {}, []
    features = []
    for feature in compact:
        parts = str(feature).split(",")
        if len(parts) == 3:
            try:
                features.append((float(parts[2]), parts[0].lower()))
            except ValueError:
                continue
    return VideoFacts(float(video.get("duration_seconds") or 0.0), features)


def matched_times(session: Session, item: CaseItem, video: VideoFacts) -> list[float]:
    """Timestamps of the video's frames within the match distance of the item's banked PDQ hashes."""
    if item.signal_type not in ("pdq", "vpdq"):
        return []  # an exact (MD5, SHA-256) match is of the whole file, not of a frame
    banked: list[int] = []
    for value in session.scalars(select(EntrySignal.value).where(EntrySignal.entry_id == item.entry_id)):
        try:
            if len(value) == 64:
                banked.append(int(value, 16))
        except ValueError:
            continue
    hits = {round(at, 3) for at, hex_hash in video.features for other in banked
            if bin(int(hex_hash, 16) ^ other).count("1") <= MATCH_DISTANCE}
    return sorted(hits)[:MAX_MATCHED_FRAMES]


def sheet(session: Session, item: CaseItem, scan: Scan) -> list[SheetFrame]:
    """The contact sheet's frames: evenly spaced across the video, and every matched frame (marked)."""
    video = facts(scan)
    matched = matched_times(session, item, video)
    duration = max(video.duration, max(matched, default=0.0))
    spaced = [round(duration * i / SHEET_FRAMES, 3) for i in range(SHEET_FRAMES)] if duration > 0 else [0.0]
    kept = sorted(set(matched))
    for at in spaced:  # a spaced frame right beside a matched one adds nothing
        if all(abs(at - other) >= 0.25 for other in kept):
            kept.append(at)
    kept.sort()
    return [SheetFrame(i, at, at in matched) for i, at in enumerate(kept)]


def render_sheet(frames: list[Any], tiles: list[SheetFrame], *, blur: bool, greyscale: bool) -> bytes:
    """One PNG of every tile in a grid; matched tiles get a thick border (their times are on the page)."""
    columns = min(3, len(frames)) or 1
    rows = math.ceil(len(frames) / columns)
    sheet_image = Image.new("RGB", (columns * (TILE_PX + _GAP) + _GAP, rows * (TILE_PX + _GAP) + _GAP), "white")
    draw = ImageDraw.Draw(sheet_image)
    for n, (frame, tile) in enumerate(zip(frames, tiles, strict=True)):
        image = _image(frame)
        if greyscale:
            image = ImageOps.grayscale(image).convert("RGB")
        if blur:
            image = image.filter(ImageFilter.GaussianBlur(radius=max(6, TILE_PX // 14)))
        x = _GAP + (n % columns) * (TILE_PX + _GAP) + (TILE_PX - image.width) // 2
        y = _GAP + (n // columns) * (TILE_PX + _GAP) + (TILE_PX - image.height) // 2
        sheet_image.paste(image, (x, y))
        if tile.matched:
            draw.rectangle((x - 2, y - 2, x + image.width + 1, y + image.height + 1), outline=(200, 0, 0), width=3)
    return _png(sheet_image)


def render_frame(frame: Any, *, colour: bool) -> bytes:
    """A revealed frame at its stage: re-encoded from decoded pixels, grey unless `colour` (as images are)."""
    return wellness.staged_png(_image(frame), colour=colour, px=REVEAL_PX)


def _image(frame: Any) -> Image.Image:
    return Image.frombytes("RGB", (frame.width, frame.height), frame.rgb)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


# -- one revealed frame, a play grant, watched seconds -----------------------------------------------------

def reveal_frame(session: Session, user_id: int, item_id: int, index: int, clock: Clock) -> wellness.Exposure:
    """Make frame `index` of `item_id` the reviewer's one revealed thing, sharp but grey; counted as an exposure.

    The stages are the image stages (`wellness.reveal`), so a frame follows the same rules: colour
    only after this step, counted once, blurred again by a reload or the case concluding.
    """
    seen = wellness.reveal(session, user_id, item_id, clock)
    _set(session, user_id, FRAME_KEY, f"{item_id}:{index}")
    return seen


def reveal_frame_colour(session: Session, user_id: int, item_id: int, index: int, clock: Clock) -> None:
    """The colour step for the frame shown sharp; refused for any other frame, and not counted again."""
    if revealed_frame(session, user_id, item_id) != index:
        raise NotRevealed("Show this frame sharp (in greyscale) first; colour is the step after that.")
    wellness.reveal_colour(session, user_id, item_id, clock)


def frame_stage(session: Session, user_id: int, item_id: int, index: int) -> str | None:
    """How far frame `index` is revealed: None (blurred), `wellness.SHARP` or `wellness.COLOUR`."""
    if revealed_frame(session, user_id, item_id) != index:
        return None
    return wellness.stage(session, user_id, item_id)


def revealed_frame(session: Session, user_id: int, item_id: int) -> int | None:
    """The revealed frame of `item_id`, while that item is still the reviewer's revealed one."""
    if wellness.revealed_item(session, user_id) != item_id:
        return None
    value = _get(session, user_id, FRAME_KEY)
    item, _, index = value.partition(":")
    return int(index) if item == str(item_id) and index.isdigit() else None


def grant_play(session: Session, user_id: int, item_id: int, duration: float) -> int:
    """Allow this reviewer to play this item: at most its length (plus slack) of reported seconds."""
    allowance = int(math.ceil(max(duration, 0.0))) + PLAY_SLACK_SECONDS
    _set(session, user_id, PLAY_KEY, f"{item_id}:{allowance}")
    _set(session, user_id, FRAME_KEY, "")
    return allowance


def play_granted(session: Session, user_id: int, item_id: int) -> bool:
    item, _, _ = _get(session, user_id, PLAY_KEY).partition(":")
    return item == str(item_id)


def record_watched(session: Session, user_id: int, item_id: int, seconds: float, clock: Clock) -> int:
    """Add reported playing time to today's exposure; returns the seconds counted.

    Refused without a play grant for this item or for a nonsense report; a report is
    capped at `REPORT_MAX_SECONDS` and the total at the grant, so a player (or anyone
    posting to this route) cannot inflate or wrap the counter.
    """
    if not math.isfinite(seconds) or seconds < 0 or seconds > REPORT_MAX_SECONDS:
        raise InvalidInput(f"Watched seconds are reported in pieces of 0 to {REPORT_MAX_SECONDS} seconds.")
    item, _, left = _get(session, user_id, PLAY_KEY).partition(":")
    if item != str(item_id) or not left.isdigit():
        raise InvalidInput("Press Play first: watched time is counted only for a video you chose to play.")
    counted = min(int(round(seconds)), int(left))
    _set(session, user_id, PLAY_KEY, f"{item_id}:{int(left) - counted}")
    row = wellness.exposure_row(session, user_id, clock)
    row.video_seconds = (row.video_seconds or 0) + counted
    break_timer.note_exposure(session, user_id, clock, seconds=counted)  # watched time is session time too
    session.flush()
    return counted


def _get(session: Session, user_id: int, key: str) -> str:
    row = session.scalar(select(ReviewerPreference).where(ReviewerPreference.user_id == user_id,
                                                          ReviewerPreference.key == key))
    return row.value if row is not None else ""


def _set(session: Session, user_id: int, key: str, value: str) -> None:
    row = session.scalar(select(ReviewerPreference).where(ReviewerPreference.user_id == user_id,
                                                          ReviewerPreference.key == key))
    if row is None:
        session.add(ReviewerPreference(user_id=user_id, key=key, value=value))
    else:
        row.value = value
