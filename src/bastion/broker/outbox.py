"""Writing task messages in the caller's transaction.

`enqueue` never talks to a broker: the row commits (or rolls back) with the work that
made it due, and the relay publishes only committed rows. So a rolled-back request
publishes nothing, and a broker outage loses nothing: rows wait as `pending`.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from bastion.broker.config import queue_for
from bastion.broker.models import TaskMessage
from bastion.clock import Clock
from bastion.executor import registry


def enqueue(session: Session, task: str, payload: dict[str, Any], *, clock: Clock) -> TaskMessage:
    """Add a message for `task` (a registered name) with a payload of ids; the caller commits."""
    registry.get(task)  # a typo fails here, in the request, not later on a worker
    for key, value in payload.items():
        if not isinstance(value, (int, str, bool)) or (isinstance(value, str) and len(value) > 200):
            raise ValueError(f"task payloads carry ids only; {key!r} is not a short scalar")
    message = TaskMessage(task=task, queue=queue_for(task), payload=json.dumps(payload, sort_keys=True),
                          status="pending", publish_attempts=0, last_error="", created_at=clock.now())
    session.add(message)
    session.flush()
    return message
