"""The working-session timer behind the break prompt.

The daily counts in `wellness` say how much a reviewer saw today; this says how long they have
been looking without a pause. A session starts at the first exposure after the last break (a
reveal, or video time reported as watched, backdated by those seconds so they count), and runs
until the reviewer presses "Take a break" or the day changes. Past the organisation's
`review.break_after_minutes` the review pages suggest a break; nothing is blocked.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.cases.models import ReviewerPreference
from bastion.clock import Clock
from bastion.orgsettings import get_value

SINCE_KEY = "session.exposure_since"
SETTING = "review.break_after_minutes"


def note_exposure(session: Session, user_id: int, clock: Clock, *, seconds: float = 0.0) -> None:
    """Start the session timer at this exposure unless one is already running today."""
    if started(session, user_id, clock) is not None:
        return
    _set(session, user_id, (clock.now() - timedelta(seconds=max(seconds, 0.0))).isoformat())


def started(session: Session, user_id: int, clock: Clock) -> datetime | None:
    """When the running session began; a session left over from an earlier day is over."""
    row = _pref(session, user_id)
    if row is None or not row.value:
        return None
    since = datetime.fromisoformat(row.value)
    return since if since.date() == clock.now().date() else None


def minutes(session: Session, user_id: int, clock: Clock) -> int:
    """Whole minutes of the running session (0 with none running)."""
    since = started(session, user_id, clock)
    return 0 if since is None else max(0, int((clock.now() - since).total_seconds() // 60))


def limit(session: Session) -> int:
    return int(get_value(session, SETTING))


def take_break(session: Session, user_id: int, *, actor: str, clock: Clock) -> int:
    """Reset the timer (the next reveal starts a new session); audited with the minutes it ended."""
    ended = minutes(session, user_id, clock)
    _set(session, user_id, "")
    audit.record(session, actor=actor, action="wellness.break", subject=f"user:{user_id}", clock=clock,
                 details={"session_minutes": ended})
    session.flush()
    return ended


def _pref(session: Session, user_id: int) -> ReviewerPreference | None:
    return session.scalar(select(ReviewerPreference).where(ReviewerPreference.user_id == user_id,
                                                           ReviewerPreference.key == SINCE_KEY))


def _set(session: Session, user_id: int, value: str) -> None:
    row = _pref(session, user_id)
    if row is None:
        session.add(ReviewerPreference(user_id=user_id, key=SINCE_KEY, value=value))
    else:
        row.value = value
