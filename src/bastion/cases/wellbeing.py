"""A reviewer's wellbeing figures, read back from what is already recorded.

`wellness` counts exposure as it happens (items revealed, video watched) and `break_timer` times the
working session; this module only reads: today's figures against the soft limit and the daily cap,
breaks taken (the audited `wellness.break`), items decided, and the last 14 days, so a reviewer can
see their own pace and a lead can notice who may need support. Days are UTC days, like the counts.
Nothing here blocks or judges; the page built on it says so.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bastion.audit.models import AuditRecord
from bastion.auth.models import User
from bastion.auth.roles import Role
from bastion.cases import break_timer, wellness
from bastion.cases.errors import ReviewerNotFound
from bastion.cases.models import CaseItem, ReviewerExposure
from bastion.clock import Clock

DAYS = 14
#: The roles whose work exposes them to review media, and so have a wellbeing page.
REVIEWING_ROLES = (Role.REVIEWER.value, Role.LEAD.value)
PAGE_SIZE = 50


@dataclass(frozen=True)
class Day:
    """One UTC day of a reviewer's work."""

    day: date
    revealed: int = 0
    video_seconds: int = 0
    decided: int = 0
    breaks: int = 0


@dataclass(frozen=True)
class Wellbeing:
    """What the wellbeing page shows for one reviewer."""

    user_id: int
    username: str
    today: wellness.Exposure
    full_views: int
    breaks_today: int
    last_break_at: datetime | None
    session_started_at: datetime | None
    days: list[Day]

    @property
    def video_minutes_today(self) -> int:
        return self.today.video_seconds // 60


def reviewer(session: Session, user_id: int) -> User:
    """The reviewer (or lead) with this id; anyone else has no wellbeing page."""
    user = session.get(User, user_id)
    if user is None or user.role not in REVIEWING_ROLES:
        raise ReviewerNotFound(f"No reviewer with id {user_id}. Pick one from the list of reviewers.")
    return user


def figures(session: Session, user_id: int, clock: Clock) -> Wellbeing:
    """Today's figures and the last `DAYS` days (oldest first, today last, quiet days as zeros)."""
    user = reviewer(session, user_id)
    today = clock.now().date()
    first = today - timedelta(days=DAYS - 1)
    breaks = _breaks(session, user_id, first)
    per_day = Counter(moment.date() for moment in breaks)
    decided = _decided(session, user_id, first)
    exposures = {row.day: row for row in session.scalars(select(ReviewerExposure).where(
        ReviewerExposure.user_id == user_id, ReviewerExposure.day >= first, ReviewerExposure.day <= today))}
    days = []
    for n in range(DAYS):
        day = first + timedelta(days=n)
        row = exposures.get(day)
        days.append(Day(day, (row.revealed or 0) if row else 0, (row.video_seconds or 0) if row else 0,
                        decided.get(day, 0), per_day.get(day, 0)))
    return Wellbeing(user.id, user.username, wellness.exposure(session, user_id, clock),
                     _full_views(session, user.username, today), per_day.get(today, 0),
                     max(breaks) if breaks else None, break_timer.started(session, user_id, clock), days)


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def _breaks(session: Session, user_id: int, first: date) -> list[datetime]:
    """When each break was taken since `first` (the audit log is the record of breaks)."""
    rows = session.scalars(select(AuditRecord.at).where(
        AuditRecord.action == "wellness.break", AuditRecord.subject == f"user:{user_id}",
        AuditRecord.at >= _start(first)))
    return [_utc(at) for at in rows]


def _decided(session: Session, user_id: int, first: date) -> Counter[date]:
    """Items this reviewer decided (a match or not), by UTC day."""
    rows = session.scalars(select(CaseItem.decided_at).where(CaseItem.decided_by == user_id,
                                                             CaseItem.decided_at >= _start(first)))
    return Counter(_utc(at).date() for at in rows if at is not None)


def _full_views(session: Session, username: str, today: date) -> int:
    """Revealed items opened at full size today (the audited `media.view`, by this person in a browser)."""
    return int(session.scalar(select(func.count()).select_from(AuditRecord).where(
        AuditRecord.action == "media.view", AuditRecord.actor == username,
        AuditRecord.at >= _start(today), AuditRecord.at < _start(today + timedelta(days=1)))) or 0)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class ReviewerPage:
    """One page of the reviewer list, by name; `next_cursor` is the last name shown when more follow."""

    rows: list[tuple[int, str, int]]
    next_cursor: str | None


def reviewers(session: Session, clock: Clock, *, search: str = "", cursor: str | None = None,
              size: int = PAGE_SIZE) -> ReviewerPage:
    """Reviewers and leads by name (keyset on the unique name), each with items revealed today."""
    query = select(User.id, User.username).where(User.role.in_(REVIEWING_ROLES), User.disabled.is_(False))
    if search.strip():
        query = query.where(func.lower(User.username).contains(search.strip().lower(), autoescape=True))
    if cursor:
        query = query.where(User.username > cursor)
    found = list(session.execute(query.order_by(User.username).limit(size + 1)))
    more, found = len(found) > size, found[:size]
    today = dict(session.execute(select(ReviewerExposure.user_id, ReviewerExposure.revealed).where(
        ReviewerExposure.day == clock.now().date(), ReviewerExposure.user_id.in_([u for u, _ in found]))).all())
    rows = [(int(uid), name, int(today.get(uid) or 0)) for uid, name in found]
    return ReviewerPage(rows, rows[-1][1] if more and rows else None)
