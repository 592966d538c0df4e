"""Reviewer wellness: what media looks like before and after a reviewer chooses to see it.

Thumbnails are rendered here, on the server, blurred and greyscale by default, so the
full image never reaches the browser unless the reviewer reveals that one item. A
reviewer has at most one item revealed at a time; every reveal counts towards their
daily exposure, and past the soft limit the interface suggests a break; past the daily cap
(if the organisation sets one) no more cases are assigned until a lead lifts it, with a reason.
A reveal lasts one page load: reloading, moving on, or concluding the case blurs it again.

Revealing is graduated, one deliberate click per step: blurred greyscale (the default) →
sharp greyscale → colour. The server renders each stage from the stage it has recorded, so the
colour image is never sent before the colour step; the exposure is counted once, at the sharp step.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from PIL import Image, ImageFilter, ImageOps
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.cases import break_timer
from bastion.cases.errors import ExposureCapReached, NotRevealed
from bastion.cases.models import ReviewerExposure, ReviewerPreference
from bastion.cases.policy import setting_for
from bastion.clock import Clock
from bastion.errors import InvalidInput
from bastion.orgsettings import get_value
from bastion.media import decode_image

THUMBNAIL_PX = 160
REVEAL_PX = 1024
REVEALED_KEY = "session.revealed_item"
SHOWN = ":shown"
STAGE_KEY = "session.reveal_stage"
#: The stages past blurred, in the order a reviewer steps through them.
SHARP, COLOUR = "sharp", "colour"


@dataclass(frozen=True)
class Exposure:
    revealed_today: int
    soft_limit: int
    cap: int = 0
    lifted_by: str = ""
    video_seconds: int = 0
    session_minutes: int = 0
    break_after: int = 0

    @property
    def over_limit(self) -> bool:
        return self.soft_limit > 0 and self.revealed_today >= self.soft_limit

    @property
    def capped(self) -> bool:
        """At today's hard cap, and no lead has lifted it: no more cases are assigned."""
        return self.cap > 0 and self.revealed_today >= self.cap and not self.lifted_by

    @property
    def break_due(self) -> bool:
        """The working session has run past the organisation's break interval: suggest, never block."""
        return self.break_after > 0 and self.session_minutes >= self.break_after


def thumbnail(data: bytes, *, blur: bool, greyscale: bool) -> bytes:
    """A small PNG of the media, blurred and greyscale as asked (decoding is the hardened one)."""
    image = _image(data)
    image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    if greyscale:
        image = ImageOps.grayscale(image)
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(radius=max(6, THUMBNAIL_PX // 14)))
    return _png(image)


def revealed_image(data: bytes, *, colour: bool = True) -> bytes:
    """The image as revealed: re-encoded (no EXIF, no original bytes), capped in size, grey unless `colour`."""
    return staged_png(_image(data), colour=colour)


def staged_png(image: Image.Image, *, colour: bool, px: int = REVEAL_PX) -> bytes:
    """Decoded pixels as a revealed stage shows them: capped at `px`, greyscale unless `colour`.

    One function for images and video frames alike, so a frame's sharp stage is grey for exactly
    the reason an image's is, and the colour never leaves the server before the colour step.
    """
    image = image.copy()
    image.thumbnail((px, px))
    return _png(image if colour else ImageOps.grayscale(image))


def _image(data: bytes) -> Image.Image:
    return Image.fromarray(decode_image(data).pixels.copy(), "RGB")


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def exposure(session: Session, user_id: int, clock: Clock) -> Exposure:
    row = session.scalar(select(ReviewerExposure).where(ReviewerExposure.user_id == user_id,
                                                        ReviewerExposure.day == _today(clock)))
    return Exposure(row.revealed if row else 0, int(setting_for(session, user_id, "wellness.daily_soft_limit")),
                    int(get_value(session, "wellness.daily_cap")), row.cap_lifted_by if row else "",
                    (row.video_seconds or 0) if row else 0, break_timer.minutes(session, user_id, clock),
                    break_timer.limit(session))


def check_cap(session: Session, user_id: int, clock: Clock) -> None:
    """Refuse assignment past the daily cap (an organisation setting, not a personal one)."""
    seen = exposure(session, user_id, clock)
    if seen.capped:
        raise ExposureCapReached(f"You have opened {seen.revealed_today} items today, the daily cap of {seen.cap}. "
                                 "No more cases are assigned to you today; please stop for the day. "
                                 "A review lead can lift the cap if it must be.")


def lift_cap(session: Session, user_id: int, *, lead: str, reason: str, clock: Clock) -> Exposure:
    """A lead lets a reviewer continue today past the cap; the reason is required and audited."""
    if not reason.strip():
        raise InvalidInput("Say why this reviewer should continue past today's exposure cap.")
    row = _exposure_row(session, user_id, clock)
    row.cap_lifted_by, row.cap_lift_reason = lead[:200], reason.strip()
    audit.record(session, actor=lead, action="wellness.cap_lifted", subject=f"user:{user_id}", clock=clock,
                 details={"day": row.day.isoformat(), "revealed": row.revealed, "reason": reason.strip()})
    session.flush()
    return exposure(session, user_id, clock)


def exposure_row(session: Session, user_id: int, clock: Clock) -> ReviewerExposure:
    """Today's exposure row of a reviewer, created if there is none yet."""
    return _exposure_row(session, user_id, clock)


def _exposure_row(session: Session, user_id: int, clock: Clock) -> ReviewerExposure:
    row = session.scalar(select(ReviewerExposure).where(ReviewerExposure.user_id == user_id,
                                                        ReviewerExposure.day == _today(clock)))
    if row is None:
        row = ReviewerExposure(user_id=user_id, day=_today(clock), revealed=0, reviewed=0)
        session.add(row)
    return row


def reveal(session: Session, user_id: int, item_id: int, clock: Clock) -> Exposure:
    """Make `item_id` this reviewer's one revealed item, sharp but grey, and count the exposure."""
    _set_revealed(session, user_id, str(item_id))
    _set_pref(session, user_id, STAGE_KEY, f"{item_id}:{SHARP}")
    break_timer.note_exposure(session, user_id, clock)
    row = _exposure_row(session, user_id, clock)
    row.revealed = (row.revealed or 0) + 1
    session.flush()
    return exposure(session, user_id, clock)


def reveal_colour(session: Session, user_id: int, item_id: int, clock: Clock) -> None:
    """The last step: show the item in colour; only from the sharp stage, and not counted again.

    The item is shown anew on the next page load (as after the first step), so the step is not lost
    to the one-page-load rule.
    """
    if stage(session, user_id, item_id) != SHARP:
        raise NotRevealed("Show this item sharp (in greyscale) first; colour is the step after that.")
    _set_revealed(session, user_id, str(item_id))
    _set_pref(session, user_id, STAGE_KEY, f"{item_id}:{COLOUR}")
    break_timer.note_exposure(session, user_id, clock)


def stage(session: Session, user_id: int, item_id: int) -> str | None:
    """How far `item_id` is revealed to this reviewer: None (blurred), SHARP or COLOUR.

    The stage holds only while the item is still their revealed one, so whatever blurs it again
    (a reload, Blur again, another item, the case concluding) also ends its stage.
    """
    if revealed_item(session, user_id) != item_id:
        return None
    row = _pref(session, user_id, STAGE_KEY)
    item, _, step = (row.value if row is not None else "").partition(":")
    return step if item == str(item_id) and step in (SHARP, COLOUR) else SHARP


def hide(session: Session, user_id: int) -> None:
    _set_revealed(session, user_id, "")


def revealed_item(session: Session, user_id: int) -> int | None:
    row = _pref(session, user_id)
    return int(row.value.split(":")[0]) if row is not None and row.value else None


def on_page_load(session: Session, user_id: int) -> int | None:
    """The item to show unblurred on this page load, if any: a reveal is shown once, then blurs again.

    A reveal stores the item id; the page load that follows shows it (and marks it shown, so the
    image request it makes still succeeds); any later page load, a reload or another case, blurs it.
    """
    row = _pref(session, user_id)
    if row is None or not row.value:
        return None
    if row.value.endswith(SHOWN):
        row.value = ""
        return None
    row.value = row.value + SHOWN
    return int(row.value.split(":")[0])


def forget_case(session: Session, item_ids: list[int]) -> None:
    """A concluded case's items blur again for everyone who had one revealed."""
    if not item_ids:
        return
    values = {str(i) for i in item_ids} | {f"{i}{SHOWN}" for i in item_ids}
    for row in session.scalars(select(ReviewerPreference).where(ReviewerPreference.key == REVEALED_KEY,
                                                                ReviewerPreference.value.in_(values))):
        row.value = ""


def _set_revealed(session: Session, user_id: int, value: str) -> None:
    _set_pref(session, user_id, REVEALED_KEY, value)


def _set_pref(session: Session, user_id: int, key: str, value: str) -> None:
    row = _pref(session, user_id, key)
    if row is None:
        session.add(ReviewerPreference(user_id=user_id, key=key, value=value))
    else:
        row.value = value


def _pref(session: Session, user_id: int, key: str = REVEALED_KEY) -> ReviewerPreference | None:
    return session.scalar(select(ReviewerPreference).where(ReviewerPreference.user_id == user_id,
                                                           ReviewerPreference.key == key))


def _today(clock: Clock) -> date:
    return clock.now().date()


def capped_today(session: Session, clock: Clock) -> list[tuple[int, int]]:
    """(user id, items revealed) of every reviewer at today's cap whom no lead has let continue."""
    cap = int(get_value(session, "wellness.daily_cap"))
    if cap <= 0:
        return []
    rows = session.execute(select(ReviewerExposure.user_id, ReviewerExposure.revealed).where(
        ReviewerExposure.day == _today(clock), ReviewerExposure.revealed >= cap,
        ReviewerExposure.cap_lifted_by == "").order_by(ReviewerExposure.user_id))
    return [(int(u), int(n)) for u, n in rows]
