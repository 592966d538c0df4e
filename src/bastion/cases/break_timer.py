"""The working-session timer behind the break prompt.

The daily counts in `wellness` say how much a reviewer saw today; this says how long they have
been looking without a pause. A session starts at the first exposure after the last break (a
reveal, or video time reported as watched, backdated by those seconds so they count), and runs
until the reviewer presses "Take a break", the day changes, or they go idle. Past the organisation's
`review.break_after_minutes` the review pages suggest a break; nothing is blocked.

Idle reset: a gap with no exposure longer than `review.idle_reset_minutes` ends the session, as a
break would. Reviewers step away without pressing the button (lunch, a meeting), and a timer that
kept running through that would prompt them on their return as if they had been looking at media
all along; a prompt that is wrong that often teaches people to ignore it. The gap is judged against
the last exposure both when the next one arrives (it starts a new session) and when the pages ask
(so a reviewer coming back is not greeted by a stale prompt).
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
LAST_KEY = "session.exposure_last"
SETTING = "review.break_after_minutes"
IDLE_SETTING = "review.idle_reset_minutes"


def note_exposure(session: Session, user_id: int, clock: Clock, *, seconds: float = 0.0) -> None:
    """Note an exposure: it starts the session timer unless one is running, and is the latest exposure."""
    now = clock.now()
    if started(session, user_id, clock) is None:
        _set(session, user_id, SINCE_KEY, (now - timedelta(seconds=max(seconds, 0.0))).isoformat())
    _set(session, user_id, LAST_KEY, now.isoformat())


def started(session: Session, user_id: int, clock: Clock) -> datetime | None:
    """When the running session began; one left over from an earlier day, or idle too long, is over."""
    since = _when(session, user_id, SINCE_KEY)
    if since is None or since.date() != clock.now().date():
        return None
    last = _when(session, user_id, LAST_KEY) or since  # a session noted before the idle rule: its start
    if clock.now() - max(last, since) > timedelta(minutes=idle_limit(session)):
        return None
    return since


def idle_limit(session: Session) -> int:
    """Minutes without an exposure after which the next one starts a new session."""
    return int(get_value(session, IDLE_SETTING))


def minutes(session: Session, user_id: int, clock: Clock) -> int:
    """Whole minutes of the running session (0 with none running)."""
    since = started(session, user_id, clock)
    return 0 if since is None else max(0, int((clock.now() - since).total_seconds() // 60))


def limit(session: Session) -> int:
    return int(get_value(session, SETTING))


def take_break(session: Session, user_id: int, *, actor: str, clock: Clock) -> int:
    """Reset the timer (the next reveal starts a new session); audited with the minutes it ended."""
    ended = minutes(session, user_id, clock)
    _set(session, user_id, SINCE_KEY, "")
    audit.record(session, actor=actor, action="wellness.break", subject=f"user:{user_id}", clock=clock,
                 details={"session_minutes": ended})
    session.flush()
    return ended


def _when(session: Session, user_id: int, key: str) -> datetime | None:
    row = _pref(session, user_id, key)
    return datetime.fromisoformat(row.value) if row is not None and row.value else None


def _pref(session: Session, user_id: int, key: str) -> ReviewerPreference | None:
    return session.scalar(select(ReviewerPreference).where(ReviewerPreference.user_id == user_id,
                                                           ReviewerPreference.key == key))


def _set(session: Session, user_id: int, key: str, value: str) -> None:
    row = _pref(session, user_id, key)
    if row is None:
        session.add(ReviewerPreference(user_id=user_id, key=key, value=value))
    else:
        row.value = value
