"""The transactional-outbox mechanism shared by platform actions and mail.

Both queues are tables of rows written in the caller's transaction and drained by a
worker that leases rows, attempts them with no transaction open, and records outcomes
only while it still holds the lease. That mechanism lives here once; `bastion.actions`
and `bastion.mail` supply only what differs: the model, its status values, how a row is
carried out, and what is audited.
"""

from bastion.outbox.table import OutboxTable, rowcount
from bastion.outbox.wakeup import run_then_rearm
from bastion.outbox.worker import Claim, LeaseWorker, OutboxReport

__all__ = ["Claim", "LeaseWorker", "OutboxReport", "OutboxTable", "rowcount", "run_then_rearm"]
