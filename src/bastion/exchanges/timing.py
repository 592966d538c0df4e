"""An exchange's fetch timer: one row per exchange (`dedupe_key`), moved rather than added."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bastion import timers
from bastion.clock import Clock
from bastion.exchanges.models import Exchange

TASK = "exchanges.fetch"


def _subject(exchange: Exchange) -> str:
    return f"exchange:{exchange.id}"


def schedule_fetch(session: Session, exchange: Exchange, clock: Clock, *, at: datetime) -> None:
    timers.schedule(session, kind=TASK, due_at=at, clock=clock, subject=_subject(exchange),
                    payload={"exchange_id": exchange.id}, dedupe_key=f"exchange-fetch:{exchange.id}")


def cancel_fetches(session: Session, exchange: Exchange) -> None:
    timers.cancel(session, subject=_subject(exchange), kind=TASK)


def next_fetch(session: Session, exchange: Exchange) -> datetime | None:
    pending = timers.pending_for(session, _subject(exchange))
    return pending[0].due_at if pending else None
