"""Reviewer wellness: what media looks like before and after a reviewer chooses to see it.

Thumbnails are rendered here, on the server, blurred and greyscale by default, so the
full image never reaches the browser unless the reviewer reveals that one item. A
reviewer has at most one item revealed at a time; every reveal counts towards their
daily exposure, and past the soft limit the interface suggests a break.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from PIL import Image, ImageFilter, ImageOps
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.cases.models import ReviewerExposure, ReviewerPreference
from bastion.cases.policy import setting_for
from bastion.clock import Clock
from bastion.media import decode_image

THUMBNAIL_PX = 160
REVEAL_PX = 1024
REVEALED_KEY = "session.revealed_item"


@dataclass(frozen=True)
class Exposure:
    revealed_today: int
    soft_limit: int

    @property
    def over_limit(self) -> bool:
        return self.soft_limit > 0 and self.revealed_today >= self.soft_limit


def thumbnail(data: bytes, *, blur: bool, greyscale: bool) -> bytes:
    """A small PNG of the media, blurred and greyscale as asked (decoding is the hardened one)."""
    image = _image(data)
    image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    if greyscale:
        image = ImageOps.grayscale(image)
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(radius=max(6, THUMBNAIL_PX // 14)))
    return _png(image)


def revealed_image(data: bytes) -> bytes:
    """The image as revealed: re-encoded (no EXIF, no original bytes) and capped in size."""
    image = _image(data)
    image.thumbnail((REVEAL_PX, REVEAL_PX))
    return _png(image)


def _image(data: bytes) -> Image.Image:
    return Image.fromarray(decode_image(data).pixels.copy(), "RGB")


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def exposure(session: Session, user_id: int, clock: Clock) -> Exposure:
    row = session.scalar(select(ReviewerExposure).where(ReviewerExposure.user_id == user_id,
                                                        ReviewerExposure.day == _today(clock)))
    return Exposure(row.revealed if row else 0, int(setting_for(session, user_id, "wellness.daily_soft_limit")))


def reveal(session: Session, user_id: int, item_id: int, clock: Clock) -> Exposure:
    """Make `item_id` this reviewer's one revealed item, and count the exposure."""
    _set_revealed(session, user_id, str(item_id))
    row = session.scalar(select(ReviewerExposure).where(ReviewerExposure.user_id == user_id,
                                                        ReviewerExposure.day == _today(clock)))
    if row is None:
        row = ReviewerExposure(user_id=user_id, day=_today(clock), revealed=0, reviewed=0)
        session.add(row)
    row.revealed += 1
    session.flush()
    return exposure(session, user_id, clock)


def hide(session: Session, user_id: int) -> None:
    _set_revealed(session, user_id, "")


def revealed_item(session: Session, user_id: int) -> int | None:
    row = _pref(session, user_id)
    return int(row.value) if row is not None and row.value else None


def _set_revealed(session: Session, user_id: int, value: str) -> None:
    row = _pref(session, user_id)
    if row is None:
        session.add(ReviewerPreference(user_id=user_id, key=REVEALED_KEY, value=value))
    else:
        row.value = value


def _pref(session: Session, user_id: int) -> ReviewerPreference | None:
    return session.scalar(select(ReviewerPreference).where(ReviewerPreference.user_id == user_id,
                                                           ReviewerPreference.key == REVEALED_KEY))


def _today(clock: Clock) -> date:
    return clock.now().date()
