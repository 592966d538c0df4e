"""The `exchanges.fetch` task, run from the exchange's timer row.

After a fetch the same timer row is moved to the next run (`fetch_every_minutes` on),
except after `auth_failed` (no retry until the credentials are edited) or when the
exchange was paused or deleted meanwhile. The task never raises for a failed fetch:
the failure is recorded on the exchange, and the next run resumes from the checkpoint.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bastion.executor import TaskContext, registry
from bastion.exchanges import timing
from bastion.exchanges.fetch import FetchReport, run_fetch
from bastion.exchanges.models import Exchange
from bastion.scanning.urlfetch import FetchPolicy

SECRET_SERVICE = "exchanges.instance_secret"
POLICY_SERVICE = "exchanges.fetch_policy"
#: A fetch that found the exchange busy (another worker holds it) looks again this soon.
BUSY_RETRY = timedelta(minutes=5)


def wire(services: dict[str, Any], secret: bytes, policy: FetchPolicy) -> None:
    services[SECRET_SERVICE], services[POLICY_SERVICE] = secret, policy


@registry.task(timing.TASK)
def fetch_task(ctx: TaskContext, payload: dict[str, Any]) -> None:
    exchange_id = int(payload["exchange_id"])
    report = run_fetch(ctx.sessions, exchange_id, clock=ctx.clock, secret=ctx.services[SECRET_SERVICE],
                       policy=ctx.services[POLICY_SERVICE])
    reschedule(ctx, exchange_id, report)


def reschedule(ctx: TaskContext, exchange_id: int, report: FetchReport) -> None:
    if report.status in ("auth_failed", "paused", "deleted"):
        return
    with ctx.sessions() as session:
        exchange = session.get(Exchange, exchange_id)
        if exchange is None or exchange.paused:
            return
        wait = BUSY_RETRY if report.status == "busy" else timedelta(minutes=exchange.fetch_every_minutes)
        timing.schedule_fetch(session, exchange, ctx.clock, at=ctx.clock.now() + wait)
        session.commit()
