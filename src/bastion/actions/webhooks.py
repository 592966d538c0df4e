"""Signed webhooks: the `webhook` action kind's transport.

Rows name an endpoint ("platform-events"), never a URL: the mapping from names to URLs
is configuration, so nobody who can write a row can point Bastion at an arbitrary host.
Requests are signed with the platform contract's `v1` HMAC scheme and carry the row's
idempotency key, and failures surface as the same typed errors as connector calls, so
the deliverer treats both alike.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Protocol, Self

import httpx

from bastion.platform import PlatformRejected, PlatformUnavailable, SigningAuth
from bastion.platform.signing import IDEMPOTENCY_HEADER, Clock, Secret

_RETRYABLE_4XX = frozenset({408, 425, 429})


class WebhookSender(Protocol):
    """Delivers a JSON body to a named endpoint; returns a small receipt."""

    def send(self, endpoint: str, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]: ...


class HttpWebhookSender:
    """POSTs signed JSON to the configured endpoints.

    A receiver should answer 2xx once it has durably accepted the event, and treat a
    repeated `Idempotency-Key` as already handled.
    """

    def __init__(
        self,
        endpoints: Mapping[str, str],
        secret: Secret,
        *,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        clock: Clock = time.time,
    ) -> None:
        for name, url in endpoints.items():
            if httpx.URL(url).scheme not in ("http", "https"):
                raise ValueError(f"webhook endpoint {name!r} must be an http(s) URL")
        self._endpoints = dict(endpoints)
        self._auth = SigningAuth(secret, clock=clock)
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)

    def send(self, endpoint: str, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        url = self._endpoints.get(endpoint)
        if url is None:
            raise PlatformRejected(f"no webhook endpoint named {endpoint!r} is configured", code="unknown_endpoint")
        content = json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")
        headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: idempotency_key}
        try:
            response = self._client.post(url, content=content, headers=headers, auth=self._auth)
        except httpx.TransportError as exc:
            raise PlatformUnavailable(f"webhook {endpoint}: {type(exc).__name__}: {exc}") from exc
        status, request_id = response.status_code, response.headers.get("x-request-id")
        if 200 <= status < 300:
            return {"endpoint": endpoint, "status_code": status}
        message = f"webhook {endpoint} answered HTTP {status}: {response.text[:300]}"
        if status >= 500 or status in _RETRYABLE_4XX:
            raise PlatformUnavailable(message, status_code=status, request_id=request_id)
        raise PlatformRejected(message, status_code=status, request_id=request_id)

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
