"""The purge timer: one per item, moved (not duplicated) whenever the item's deadline changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bastion.clock import Clock
from bastion.evidence.models import EvidenceItem
from bastion.timers import schedule

PURGE_TASK = "evidence.purge"


def schedule_purge(session: Session, item: EvidenceItem, *, due_at: datetime, clock: Clock) -> None:
    """Make sure a purge run happens at `due_at` for this item (the run sweeps everything due)."""
    schedule(session, kind=PURGE_TASK, due_at=due_at, clock=clock, subject=f"evidence:{item.id}",
             payload={"item_id": item.id}, dedupe_key=f"{PURGE_TASK}:{item.id}")
