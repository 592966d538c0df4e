"""How hard, and how patiently, mail delivery tries."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class MailPolicy:
    """Retry and lease settings of a `MailDeliverer`.

    The defaults give up after roughly two hours of failure (30 s doubling to a 30-minute
    cap, ten attempts): mail here carries legal deadlines, so a relay that is down for
    longer should reach a person (a dead letter they can requeue), not sit in a queue
    for days as an MTA would. The lease must outlast one SMTP conversation (the sender's
    timeout) by a wide margin.
    """

    max_attempts: int = 10
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(minutes=30)
    #: Each delay is shortened by up to this fraction at random, so messages that failed
    #: together (a relay outage) do not all come back in the same second.
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

    def delay(self, attempt: int, rng: random.Random) -> timedelta:
        """The wait after failed attempt number `attempt` (1-based): capped doubling, jittered down."""
        doublings = min(max(attempt - 1, 0), 32)
        ceiling = min(self.max_delay, self.base_delay * (1 << doublings))
        return ceiling * (1 - self.jitter * rng.random())
