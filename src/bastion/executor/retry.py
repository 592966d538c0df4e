"""How hard, and how patiently, an outbox worker retries: shared by platform actions and mail."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """Retry and lease settings of an outbox worker.

    The lease must outlast one delivery attempt (the transport's timeout) by a wide margin:
    a worker that is still sending when its lease expires can be overtaken by another,
    which is safe (same idempotency key) but wasteful.
    """

    max_attempts: int = 8
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    #: Each delay is shortened by up to this fraction at random, so workers that failed
    #: together (a platform outage) do not all come back in the same second.
    jitter: float = 0.25
    lease: timedelta = timedelta(minutes=5)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not timedelta(0) < self.base_delay <= self.max_delay:
            raise ValueError("need 0 < base_delay <= max_delay")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        if self.lease <= timedelta(0):
            raise ValueError("lease must be positive")

    def ceiling(self, attempt: int) -> timedelta:
        """The longest wait after failed attempt number `attempt` (1-based): capped doubling."""
        doublings = min(max(attempt - 1, 0), 32)  # beyond the cap anyway; keeps the multiplication small
        return min(self.max_delay, self.base_delay * (1 << doublings))

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> timedelta:
        """The wait before the next attempt; a server's Retry-After is a floor (within the cap)."""
        ceiling = self.ceiling(attempt)
        wait = ceiling * (1 - self.jitter * rng.random())
        if retry_after is not None and retry_after > 0:
            wait = max(wait, min(timedelta(seconds=retry_after), self.max_delay))
        return wait
