"""Fault injection for retry tests: make the next N API requests fail.

Two phases model the two failures a caller must survive:

* ``after_processing=False`` -- the request never reaches the platform
  (load balancer says 503). Nothing happens; a retry performs the action.
* ``after_processing=True`` -- the platform performs the action but the
  response is lost (503 instead of the receipt). A retry with the same
  Idempotency-Key must return the original receipt, not act twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from bastion.platform.asgi import ASGIApp, Message, Receive, Scope, Send, send_json_error

__all__ = ["FaultInjector", "FaultMiddleware"]


@dataclass(frozen=True)
class _Fault:
    status: int
    after_processing: bool


class FaultInjector:
    """Thread-safe countdown of injected failures."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._remaining = 0
        self._fault = _Fault(503, False)

    def fail_next(self, count: int, *, status: int = 503, after_processing: bool = False) -> None:
        """Answer the next ``count`` API requests with ``status`` (replaces any pending faults)."""
        if count < 0:
            raise ValueError("count must be >= 0")
        if not 400 <= status <= 599:
            raise ValueError("status must be a 4xx or 5xx code")
        with self._lock:
            self._remaining = count
            self._fault = _Fault(status, after_processing)

    def clear(self) -> None:
        self.fail_next(0)

    @property
    def pending(self) -> int:
        with self._lock:
            return self._remaining

    def take(self) -> _Fault | None:
        """Consume one fault if any is pending."""
        with self._lock:
            if self._remaining == 0:
                return None
            self._remaining -= 1
            return self._fault


class FaultMiddleware:
    """Applies :class:`FaultInjector` to requests whose path matches ``applies_to``."""

    def __init__(
        self,
        app: ASGIApp,
        injector: FaultInjector,
        *,
        applies_to: Callable[[str], bool] = lambda path: path.startswith("/v1/"),
    ) -> None:
        self.app = app
        self.injector = injector
        self.applies_to = applies_to

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.applies_to(scope["path"]):
            await self.app(scope, receive, send)
            return
        fault = self.injector.take()
        if fault is None:
            await self.app(scope, receive, send)
            return
        if fault.after_processing:

            async def discard(message: Message) -> None:
                return None

            await self.app(scope, receive, discard)
        await send_json_error(
            send,
            fault.status,
            "unavailable" if fault.status >= 500 else "injected_fault",
            f"injected fault (HTTP {fault.status})",
            headers=[(b"retry-after", b"1")],
        )
