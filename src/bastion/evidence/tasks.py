"""The `evidence.purge` task that purge timers run.

Purging needs only the blob store, never the master key, so the task finds the
store in the task context's services: the vault under "evidence.vault", or a bare
store under "evidence.store" (for workers that hold no key).
"""

from __future__ import annotations

import logging
from typing import Any

from bastion.errors import BastionError
from bastion.evidence import purge
from bastion.evidence.schedule import PURGE_TASK
from bastion.evidence.store import BlobStore
from bastion.evidence.vault import PURGE_ACTOR
from bastion.executor import TaskContext, registry

log = logging.getLogger(__name__)

VAULT_SERVICE = "evidence.vault"
STORE_SERVICE = "evidence.store"


class VaultNotConfigured(BastionError):
    code = "evidence_vault_not_configured"
    status = 500


@registry.task(PURGE_TASK)
def purge_task(ctx: TaskContext, payload: dict[str, Any]) -> None:
    """Purge everything due (not only the item that woke us), one committed batch at a time."""
    store = _store(ctx)
    while True:
        with ctx.sessions() as session, session.begin():
            report = purge.purge_expired(session, store=store, now=ctx.clock.now(), actor=PURGE_ACTOR,
                                         clock=ctx.clock)
        log.info("evidence purge", extra={"purged": len(report.purged), "held": len(report.held),
                                          "objects_deleted": len(report.objects_deleted)})
        if len(report.purged) < purge.BATCH:
            return


def _store(ctx: TaskContext) -> BlobStore:
    vault = ctx.services.get(VAULT_SERVICE)
    if vault is not None:
        return vault.store  # type: ignore[no-any-return]
    store = ctx.services.get(STORE_SERVICE)
    if store is None:
        raise VaultNotConfigured(
            f"The {PURGE_TASK} task needs the evidence vault: put it in the task context's services as "
            f"{VAULT_SERVICE!r} (or a blob store as {STORE_SERVICE!r})."
        )
    return store  # type: ignore[no-any-return]
