"""The broker's settings and the queues work is routed to.

Queues follow kinds of work, so an operator sizes each pool on its own machines
(`bastion worker --queues scan --concurrency 8` on the hashing boxes, one small
`deliver,ncmec` worker elsewhere: platform actions, mail and webhooks share `deliver`)
and a flood of one kind never starves another.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.config import Settings

#: Every queue a worker may consume. `video` takes uploaded videos of the batch API (`video.scan`);
#: `exchange` takes hash-exchange fetches and contributions.
QUEUES: tuple[str, ...] = ("scan", "rescan", "import", "deliver", "ncmec", "video", "exchange")

#: Task-name prefix -> queue; the first match wins, anything else goes to `deliver`.
_ROUTES: tuple[tuple[str, str], ...] = (
    ("scans.webhook", "deliver"),
    ("scans.", "scan"),
    ("rescan.", "rescan"),
    ("import.", "import"),
    ("actions.", "deliver"),
    ("notices.", "deliver"),
    ("mail.", "deliver"),  # mail and platform actions: both outbox deliveries, one pool
    ("ncmec.", "ncmec"),
    ("video.", "video"),
    ("exchanges.", "exchange"),  # fetches and contributions (the task names are `exchanges.…`)
)


def queue_for(task: str) -> str:
    """The queue a task runs on, from its registered name."""
    for prefix, queue in _ROUTES:
        if task.startswith(prefix):
            return queue
    return "deliver"


@dataclass(frozen=True)
class BrokerConfig:
    """What the dispatch needs to know; built from `Settings` once per process."""

    #: Empty: no broker, the in-process executor runs every task (the embedded default).
    url: str = ""
    #: Deliveries of one message before its job is dead-lettered (a poison message that kills
    #: workers is redelivered forever by the broker; Bastion counts the tries in its database).
    max_tries: int = 5
    #: Redis only: how long a taken but unacknowledged message stays invisible before another
    #: worker gets it (RabbitMQ notices a dead consumer's closed connection at once instead).
    visibility_timeout_seconds: int = 3600
    #: How many not-yet-finished batch items the API accepts before it answers 429.
    max_queue_depth: int = 10_000
    #: Most items in one `POST /api/v1/scans` batch.
    max_batch_items: int = 500

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    @classmethod
    def from_settings(cls, settings: Settings) -> "BrokerConfig":
        return cls(url=settings.broker_url, max_tries=settings.broker_max_tries,
                   visibility_timeout_seconds=settings.broker_visibility_timeout_seconds,
                   max_queue_depth=settings.scan_queue_max_depth, max_batch_items=settings.scan_batch_max_items)

    def redacted_url(self) -> str:
        """The URL without its password, for logs and /readyz."""
        from kombu.utils.url import maybe_sanitize_url

        return str(maybe_sanitize_url(self.url))
