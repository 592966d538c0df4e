"""Is the configured broker up? Asked by /readyz and before accepting asynchronous work.

The answer is cached for a moment so a busy API does not open a broker connection per
request; an outage is still noticed within `ttl_seconds`.
"""

from __future__ import annotations

import threading
import time

from bastion.broker.celery_app import ping


class BrokerProbe:
    def __init__(self, url: str, ttl_seconds: float = 2.0, timeout_seconds: float = 2.0) -> None:
        self.url, self.ttl, self.timeout = url, ttl_seconds, timeout_seconds
        self._lock = threading.Lock()
        self._checked_at = -1e9
        self._error: str | None = None

    def error(self) -> str | None:
        """None when the broker answered within the last `ttl_seconds`, else why it did not."""
        with self._lock:
            if time.monotonic() - self._checked_at > self.ttl:
                self._error = ping(self.url, self.timeout)
                self._checked_at = time.monotonic()
            return self._error
