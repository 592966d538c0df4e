"""The transactional outbox every queue that leaves the system runs on (platform actions, mail).

A queue is a table of rows written in the caller's transaction and drained by a worker
that leases rows, attempts them with no transaction open, and records outcomes only
while it still holds the lease. That mechanism lives here once: the columns every
outbox table has (`OutboxColumns`), the five statuses (`status_enum`), adding and
requeueing rows with their audit records and waking the worker (`Queue`), and the
lease worker (`LeaseWorker`). `bastion.actions` and `bastion.mail` supply only what
differs: what a row carries, how it is carried out, and what is audited.
"""

from bastion.outbox.columns import OutboxColumns
from bastion.outbox.housekeeping import RETENTION_SERVICE, prune_published, schedule_prune
from bastion.outbox.queue import HEARTBEAT, SWEEP_GRACE_SERVICE, Queue
from bastion.outbox.status import status_enum
from bastion.outbox.table import OutboxTable, rowcount
from bastion.outbox.wakeup import run_then_rearm
from bastion.outbox.worker import Claim, LeaseWorker, OutboxReport

__all__ = ["HEARTBEAT", "RETENTION_SERVICE", "prune_published", "schedule_prune", "SWEEP_GRACE_SERVICE", "Claim", "LeaseWorker", "OutboxColumns", "OutboxReport", "OutboxTable", "Queue", "rowcount",
           "run_then_rearm", "status_enum"]
