"""How many messages wait on each of the broker's queues: for the operations page and /metrics.

Asked with a passive declare (RabbitMQ answers with the queue's message count; kombu's Redis
transport counts the list and its priority lists), so reading a depth never creates a queue.
A queue no worker or publisher has declared yet holds nothing and reads 0. Answers are
cached for a moment, so a page view and a scrape in the same seconds open one connection.
"""

from __future__ import annotations

import threading
import time

from bastion.broker.config import QUEUES


def queue_depths(url: str, queues: tuple[str, ...] = QUEUES, timeout: float = 2.0) -> dict[str, int]:
    """Messages ready on each queue (not counting those a worker holds unacknowledged); raises if unreachable."""
    from kombu import Connection

    depths: dict[str, int] = {}
    with Connection(url, connect_timeout=timeout, transport_options={"max_retries": 0}) as connection:
        connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
        channel = connection.channel()
        try:
            for name in queues:
                try:
                    depths[name] = int(channel.queue_declare(queue=name, passive=True).message_count)
                except Exception as exc:  # not declared yet (AMQP closes the channel on NOT_FOUND)
                    if not _not_found(exc):
                        raise
                    depths[name] = 0
                    channel = _reopen(connection, channel)
        finally:
            _close(channel)
    return depths


def _not_found(exc: Exception) -> bool:
    return getattr(exc, "code", None) == 404 or "NOT_FOUND" in str(exc) or "no queue" in str(exc).lower()


def _reopen(connection, channel):  # type: ignore[no-untyped-def]
    _close(channel)
    return connection.channel()


def _close(channel) -> None:  # type: ignore[no-untyped-def]
    try:
        channel.close()
    except Exception:  # a channel the broker already closed
        pass


class DepthGauge:
    """`queue_depths` cached for `ttl_seconds`; None (with why) while the broker does not answer."""

    def __init__(self, url: str, ttl_seconds: float = 5.0) -> None:
        self.url, self.ttl = url, ttl_seconds
        self._lock = threading.Lock()
        self._at = -1e9
        self._depths: dict[str, int] | None = None
        self._error: str | None = None

    def read(self) -> tuple[dict[str, int] | None, str | None]:
        with self._lock:
            if time.monotonic() - self._at > self.ttl:
                try:
                    self._depths, self._error = queue_depths(self.url), None
                except Exception as exc:
                    self._depths, self._error = None, f"{type(exc).__name__}: {exc}"[:300]
                self._at = time.monotonic()
            return self._depths, self._error
