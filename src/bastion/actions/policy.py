"""How hard, and how patiently, the deliverer of platform actions tries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bastion.executor.retry import RetryPolicy


@dataclass(frozen=True)
class DeliveryPolicy(RetryPolicy):
    """Eight attempts over about two hours (30 s doubling to a one-hour cap)."""

    max_attempts: int = 8
    max_delay: timedelta = timedelta(hours=1)
