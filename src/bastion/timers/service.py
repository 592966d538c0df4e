"""Scheduling and cancelling timers inside the caller's transaction."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.timers.models import Timer


def schedule(
    session: Session,
    *,
    kind: str,
    due_at: datetime,
    clock: Clock,
    subject: str = "",
    payload: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = 5,
) -> Timer:
    """Add a timer; with `dedupe_key`, an existing live timer of that key is moved instead."""
    if dedupe_key is not None:
        existing = session.scalar(select(Timer).where(Timer.dedupe_key == dedupe_key))
        if existing is not None:
            existing.due_at, existing.status, existing.attempts = due_at, "pending", 0
            existing.payload = json.dumps(payload or {})
            return existing
    timer = Timer(
        kind=kind, subject=subject, dedupe_key=dedupe_key, payload=json.dumps(payload or {}), due_at=due_at,
        status="pending", attempts=0, max_attempts=max_attempts, created_at=clock.now(),
    )
    session.add(timer)
    session.flush()
    return timer


def cancel(session: Session, *, subject: str, kind: str | None = None) -> int:
    """Cancel the pending timers of a subject (optionally of one kind); returns how many."""
    stmt = update(Timer).where(Timer.subject == subject, Timer.status == "pending")
    if kind is not None:
        stmt = stmt.where(Timer.kind == kind)
    return session.execute(stmt.values(status="cancelled")).rowcount or 0


def pending_for(session: Session, subject: str) -> list[Timer]:
    return list(session.scalars(
        select(Timer).where(Timer.subject == subject, Timer.status == "pending").order_by(Timer.due_at)
    ))
