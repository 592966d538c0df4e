"""ASGI middleware that enforces :mod:`bastion.platform.signing` on a web app.

Used by the demo platform for its API, and usable as-is by Bastion's own
webhook receiver: both sides of the contract verify with the same code.

It is a pure ASGI middleware rather than a FastAPI dependency so that
protection is *default-deny*: every path is verified unless explicitly
exempted, and a forgotten ``Depends`` cannot open an endpoint. It verifies
against the raw request-target and raw body bytes, before any framework has
parsed or normalised them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from bastion.platform.signing import SignatureError, SignatureVerifier

__all__ = ["SignatureMiddleware", "request_target", "send_json_error"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


async def send_json_error(
    send: Send,
    status: int,
    code: str,
    message: str,
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Send the contract's error shape: ``{"error": {"code": ..., "message": ...}}``."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode("ascii")),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def request_target(scope: Scope) -> str:
    """The request-target as the client sent it (raw path plus ``?query``)."""
    raw_path: bytes | None = scope.get("raw_path")
    if raw_path is None:  # optional in the ASGI spec; uvicorn always sets it
        from urllib.parse import quote

        raw_path = quote(scope["path"]).encode("ascii")
    target = raw_path.decode("latin-1")
    query: bytes = scope.get("query_string", b"")
    return f"{target}?{query.decode('latin-1')}" if query else target


class SignatureMiddleware:
    """Reject unsigned, mis-signed or stale requests with ``401`` JSON errors.

    ``exempt(path)`` returns ``True`` for paths served without authentication
    (e.g. health checks, public HTML). Bodies larger than ``max_body_bytes``
    are refused with ``413`` before being buffered in full.
    """

    def __init__(
        self,
        app: ASGIApp,
        verifier: SignatureVerifier,
        *,
        exempt: Callable[[str], bool] = lambda path: False,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.exempt = exempt
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.exempt(scope["path"]):
            await self.app(scope, receive, send)
            return

        chunks: list[bytes] = []
        size = 0
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                await send_json_error(send, 413, "payload_too_large", "request body too large")
                return
            chunks.append(chunk)
            more_body = message.get("more_body", False)
        body = b"".join(chunks)

        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            headers.setdefault(raw_name.decode("latin-1").lower(), raw_value.decode("latin-1"))

        try:
            self.verifier.verify(scope["method"], request_target(scope), body, headers)
        except SignatureError as exc:
            await send_json_error(send, 401, exc.code, str(exc))
            return

        replayed = False

        async def replay_receive() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay_receive, send)
