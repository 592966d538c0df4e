"""Asynchronous batch scanning: a platform submits many uploads at once and is told later.

`service.submit` records one job per item and one task message per job in the caller's
transaction; the `scans.run` task (on a `bastion worker`, or in-process) hashes, matches and
records the scan exactly once per job, and `scans.webhook` tells the platform by a signed
POST. Results are polled at `GET /api/v1/scans/{id}`.
"""

from bastion.batchscan.models import ScanJob
from bastion.batchscan.service import BatchTooLarge, ItemOutcome, QueueFull, retry_dead, submit

__all__ = ["BatchTooLarge", "ItemOutcome", "QueueFull", "ScanJob", "retry_dead", "submit"]
