"""How hard, and how patiently, mail delivery tries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bastion.executor.retry import RetryPolicy


@dataclass(frozen=True)
class MailPolicy(RetryPolicy):
    """Retry and lease settings of a `MailDeliverer`.

    The defaults give up after roughly two hours of failure (30 s doubling to a 30-minute
    cap, ten attempts): mail here carries legal deadlines, so a relay that is down for
    longer should reach a person (a dead letter they can requeue), not sit in a queue
    for days as an MTA would. The lease must outlast one SMTP conversation (the sender's
    timeout) by a wide margin.
    """

    max_attempts: int = 10
    max_delay: timedelta = timedelta(minutes=30)
