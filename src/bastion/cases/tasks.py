"""Timer tasks of the cases domain."""

from __future__ import annotations

from typing import Any

from bastion.cases.models import Case
from bastion.cases.service import REMOVAL_TIMER, _event
from bastion.executor import TaskContext, registry

#: Added to an overdue case's priority so it rises to the top of every queue.
OVERDUE_BOOST = 1000


@registry.task(REMOVAL_TIMER)
def removal_due(ctx: TaskContext, payload: dict[str, Any]) -> None:
    """The removal clock ran out: if nothing was removed yet, say so loudly and move the case up."""
    with ctx.sessions() as session:
        case = session.get(Case, int(payload["case_id"]))
        if case is None or case.status in ("actioned", "dismissed", "closed"):
            return
        _event(session, case, "bastion", "removal_overdue", ctx.clock,
               details={"due": case.removal_due_at, "policy": case.removal_policy})
        case.priority += OVERDUE_BOOST
        session.commit()
