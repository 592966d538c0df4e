"""Deadlines on the clock: reminders to the assignee at configured fractions, escalation at breach.

The deadline comes from the catalogue (`InstrumentRule.deadline_for`); the reminders and the
breach are timers (rows), run by the ticker, so any number of processes can run them and tests
move the injected clock instead of sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from bastion import timers
from bastion.auth.models import User
from bastion.clock import Clock
from bastion.db.base import UTCDateTime
from bastion.db.keyset import NEVER, Page, after_key, cut, key_cursor, page_size, seek
from bastion.executor import TaskContext, registry
from bastion.legal import notify, rules
from bastion.legal.catalogue import InstrumentRule
from bastion.legal.models import LegalRequest
from bastion.legal.settings import (
    COMPLIANCE_OFFICER_EMAIL,
    NODAL_OFFICER_EMAIL,
    TEAM_EMAIL,
    reminder_fractions,
)
from bastion.legal.timeline import event, subject
from bastion.orgsettings import get_value
from bastion.timers.models import Timer

REMINDER_TASK = "legal.reminder"
BREACH_TASK = "legal.breach"
#: Added to a breached request's priority so it rises above everything still on time.
BREACH_BOOST = 1000
OPEN_STATUSES = ("needs_information", "held", "open", "pending_approval", "approved", "collected")


@dataclass(frozen=True)
class DeskClock:
    """One clock a request runs on: when it ends, what it is, and the text that sets it."""

    title: str
    due_at: datetime | None
    citation: str


def clocks_of(session: Session, request: LegalRequest, rule: InstrumentRule) -> list[DeskClock]:
    """Every clock the request runs on, earliest first (a request with none has an empty list).

    The instrument's own deadline; the further clocks the catalogue says it starts (a BNSS s.94
    notice to an intermediary is also a Rule 3(1)(j) order: 72 hours); and, for an emergency, the
    jurisdiction's internal target. The earliest governs.
    """
    due, note = rule.deadline_for(request.received_at, stated=request.stated_due_at, emergency=request.emergency)
    found = [DeskClock(f"{rule.title}: {note}", due, rule.citation)] if due is not None else []
    for extra in rules.clocks_for(session, rule.key):
        body = rules.body_of(extra)
        found.append(DeskClock(str(body["title"]), request.received_at + timedelta(hours=float(body["hours"])),
                               extra.citation))
    emergency = rules.emergency_rule(session, request.jurisdiction) if request.emergency else None
    if emergency is not None:
        hours = float(rules.body_of(emergency)["target_hours"])
        found.append(DeskClock(f"Emergency: internal target of {hours:g} hours", request.received_at
                               + timedelta(hours=hours), emergency.citation))
    return sorted(found, key=lambda c: c.due_at)  # type: ignore[arg-type, return-value]


def is_held(request: LegalRequest) -> bool:
    """Held (unverified sender, suspected fraud): its time shows, but nothing escalates."""
    return request.status == "held" or request.verification == "held" or bool(request.fraudulent)


def set_deadline(session: Session, request: LegalRequest, rule: InstrumentRule, *, clock: Clock) -> None:
    """(Re)compute the deadline (the earliest clock) and move the request's reminder and breach timers to match."""
    running = clocks_of(session, request, rule)
    due = running[0].due_at if running else None
    note = rule.deadline_for(request.received_at, stated=request.stated_due_at, emergency=request.emergency)[1]
    if running:
        note = running[0].title + (f" (earliest of {len(running)} clocks)" if len(running) > 1 else "")
    request.due_at, request.deadline_note = due, note[:300]
    stop(session, request)
    if due is None or request.answered_at is not None or request.closed_at is not None or is_held(request):
        return
    now = clock.now()
    span = due - request.received_at
    for index, fraction in enumerate(reminder_fractions(session)):
        at = request.received_at + span * fraction
        if at > now:
            timers.schedule(session, kind=REMINDER_TASK, due_at=at, clock=clock, subject=subject(request),
                            payload={"request_id": request.id, "fraction": fraction},
                            dedupe_key=f"legal:{request.id}:reminder:{index}")
    key = f"legal:{request.id}:breach"
    if due <= now:  # already past: escalate now, unless this breach was escalated before
        fired = session.scalar(select(Timer.status).where(Timer.dedupe_key == key))
        if fired in ("done", "running"):
            return
    timers.schedule(session, kind=BREACH_TASK, due_at=max(due, now), clock=clock, subject=subject(request),
                    payload={"request_id": request.id}, dedupe_key=key)


def stop(session: Session, request: LegalRequest) -> None:
    """The request was answered or closed: its reminders and breach no longer fire."""
    timers.cancel(session, subject=subject(request), kind=REMINDER_TASK)
    timers.cancel(session, subject=subject(request), kind=BREACH_TASK)


def _urgency_key() -> list[Any]:
    """The queue's sort key as columns: chased first (earliest chase first), least time left, then
    priority, then oldest received, id last so no two rows tie and a keyset page never skips one."""
    never = literal(NEVER, UTCDateTime())
    return [func.coalesce(LegalRequest.escalated_at, never), func.coalesce(LegalRequest.due_at, never),
            -LegalRequest.priority, LegalRequest.received_at, LegalRequest.id]


def _key_of(request: LegalRequest) -> list[Any]:
    """A row's urgency key, the same values `_urgency_key` sorts by, as a cursor."""
    return key_cursor([request.escalated_at or NEVER, request.due_at or NEVER, -request.priority,
                       request.received_at, request.id])


def queue(session: Session, *, include_closed: bool = False, cursor: str | None = None,
          limit: int | None = None) -> Page[LegalRequest]:
    """The dashboard, one keyset page at a time: chased requests first (a reminder escalates, it is
    not a tie-breaker), then least time left (no deadline last), then by priority. No cap: every
    open request is reachable by following the cursors."""
    size = page_size(limit)
    stmt = select(LegalRequest)
    if not include_closed:
        stmt = stmt.where(LegalRequest.closed_at.is_(None), LegalRequest.answered_at.is_(None))
    key = _urgency_key()
    after = after_key(cursor, "ttiti")
    if after is not None:
        stmt = stmt.where(seek(key, after))
    rows = list(session.scalars(stmt.order_by(*key).limit(size + 1)))
    return cut(rows, size, key=_key_of)


def time_left(request: LegalRequest, now: datetime) -> float | None:
    """Seconds until the deadline (negative once breached), or None without one."""
    return None if request.due_at is None else (request.due_at - now).total_seconds()


def _live(request: LegalRequest | None) -> bool:
    return request is not None and request.closed_at is None and request.answered_at is None


def assignee_address(session: Session, request: LegalRequest) -> str:
    user = session.get(User, request.assignee_id) if request.assignee_id else None
    return (user.email if user is not None and user.email else "") or str(get_value(session, TEAM_EMAIL))


def _left_text(request: LegalRequest, now: datetime) -> str:
    left = time_left(request, now)
    if left is None:
        return "no deadline"
    hours = abs(left) / 3600
    return f"{hours:.1f} h left" if left >= 0 else f"{hours:.1f} h overdue"


@registry.task(REMINDER_TASK)
def reminder_task(ctx: TaskContext, payload: dict[str, Any]) -> None:
    with ctx.sessions() as session, session.begin():
        request = session.get(LegalRequest, int(payload["request_id"]))
        if not _live(request):
            return
        assert request is not None
        fraction = float(payload.get("fraction", 0))
        now = ctx.clock.now()
        text = (f"Legal request {request.reference} has used {fraction:.0%} of its time: due "
                f"{request.due_at:%Y-%m-%d %H:%M} UTC ({_left_text(request, now)}). Status: {request.status}.")
        notify.staff(session, request, to=[assignee_address(session, request)], kind="reminder", clock=ctx.clock,
                     subject=f"Reminder: {request.reference} due {request.due_at:%Y-%m-%d %H:%M} UTC", text=text,
                     key=f"legal-request:{request.id}:reminder:{fraction}:{request.due_at:%Y%m%d%H%M}")


@registry.task(BREACH_TASK)
def breach_task(ctx: TaskContext, payload: dict[str, Any]) -> None:
    """Deadline passed unanswered: escalate to the nodal and compliance officers and raise the priority."""
    with ctx.sessions() as session, session.begin():
        request = session.get(LegalRequest, int(payload["request_id"]))
        if not _live(request) or is_held(request):  # type: ignore[arg-type]
            return
        assert request is not None
        request.priority += BREACH_BOOST
        text = (f"Legal request {request.reference} breached its deadline of {request.due_at:%Y-%m-%d %H:%M} UTC "
                f"({request.deadline_note}). Status: {request.status}. Escalated to the nodal and compliance officers.")
        recipients = [str(get_value(session, NODAL_OFFICER_EMAIL)), str(get_value(session, COMPLIANCE_OFFICER_EMAIL)),
                      assignee_address(session, request)]
        notify.staff(session, request, to=recipients, kind="deadline_breached", clock=ctx.clock,
                     subject=f"BREACHED: {request.reference}", text=text,
                     key=f"legal-request:{request.id}:breach:{request.due_at:%Y%m%d%H%M}")


def note_answered(session: Session, request: LegalRequest, *, actor: str, clock: Clock, text: str) -> None:
    """The requester got their answer (production, preservation, refusal): the desk clock stops."""
    request.answered_at = clock.now()
    stop(session, request)
    event(session, request, actor=actor, kind="answered", clock=clock, text=text,
          details={"due_at": request.due_at, "on_time": request.due_at is None or clock.now() <= request.due_at})
