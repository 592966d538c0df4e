"""The background task: record a statement for every new EU notice, then send what is due.

One deduplicated timer re-arms itself every `dsa.submit_minutes`. Without a configured database
(`BASTION_DSA_TDB_URL` and `BASTION_DSA_TDB_TOKEN`) statements are still recorded and wait as
`pending`, so nothing is lost while the platform is being onboarded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bastion import audit, timers
from bastion.clock import Clock
from bastion.dsa import reversals
from bastion.dsa.build import record_new
from bastion.dsa.client import DsaRefusedCredentials, TransparencyDatabase
from bastion.dsa.submit import submit_pending
from bastion.executor import TaskContext, registry
from bastion.orgsettings import get_value
from bastion.orgsettings.store import register

TASK = "dsa.submit"
DATABASE_SERVICE = "dsa.database"
SUBMIT_MINUTES = "dsa.submit_minutes"
register(SUBMIT_MINUTES, int, 10, "How often pending DSA statements of reasons are sent to the Transparency Database.")


def wire(services: dict[str, Any], url: str, token: str) -> None:
    """Put a database factory into the task services when the database is configured."""
    if url and token:
        services[DATABASE_SERVICE] = lambda: TransparencyDatabase(url, token)


def schedule(session: Any, clock: Clock, *, delay: timedelta = timedelta(0)) -> None:
    timers.schedule(session, kind=TASK, due_at=clock.now() + delay, clock=clock, subject="dsa:statements",
                    dedupe_key=TASK)


@registry.task(TASK)
def run(ctx: TaskContext, payload: dict[str, Any]) -> None:
    factory: Callable[[], TransparencyDatabase] | None = ctx.services.get(DATABASE_SERVICE)
    with ctx.sessions() as session, session.begin():
        record_new(session, ctx.clock)
        reversals.apply(session, ctx.clock)  # before sending: a statement not yet filed is amended first
    if factory is not None:
        db = factory()
        try:
            with ctx.sessions() as session, session.begin():
                submit_pending(session, db, ctx.clock)
        except DsaRefusedCredentials as exc:  # nothing was sent; say so where compliance staff look
            with ctx.sessions() as session, session.begin():
                audit.record(session, actor="system:dsa", action="dsa.credentials_refused",
                             subject="dsa:statements", clock=ctx.clock, details={"error": str(exc)})
        finally:
            db.close()
    with ctx.sessions() as session, session.begin():
        schedule(session, ctx.clock, delay=timedelta(minutes=int(get_value(session, SUBMIT_MINUTES))))
