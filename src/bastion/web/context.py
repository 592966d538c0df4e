"""Every request gets an id, and no exception reaches a client as a bare 500.

`RequestContext` is the innermost middleware: it takes a well-formed `X-Request-ID` from the
caller (a proxy's, so the two logs join up) or makes one, puts it in the log context and on the
response, and turns any exception the handlers did not map into a logged 500 that carries the
id. Being innermost, that 500 still passes out through the security-header middleware, which the
framework's own last-resort handler (outside every middleware) would skip.
"""

from __future__ import annotations

import json
import logging
import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.logs import request_id
from bastion.web.errors import HMA_PREFIXES

log = logging.getLogger(__name__)

HEADER = b"x-request-id"
_WELL_FORMED = re.compile(rb"[A-Za-z0-9._:-]{8,128}")


def incoming_id(scope: Scope) -> str:
    """The caller's id when it is safe to echo and log, else a fresh one."""
    for name, value in scope.get("headers", ()):
        if name == HEADER and _WELL_FORMED.fullmatch(value):
            return value.decode()
    return uuid.uuid4().hex


def failure_body(path: str, rid: str) -> bytes:
    """A 500's body: HMA's `{"message"}` shape on its routes, Bastion's `{"code", "detail"}` elsewhere."""
    detail = f"Something went wrong on our side; it has been logged as request {rid}. Quote that id when reporting it."
    body = {"message": detail} if path.startswith(HMA_PREFIXES) else {
        "code": "internal_error", "detail": detail, "request_id": rid}
    return json.dumps(body).encode()


class RequestContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id.set(rid)
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", []).append((HEADER, rid.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error", extra={"path": scope.get("path", ""), "method": scope.get("method", ""),
                                                    "request_id": rid})
            if started:  # the status line is out; all that is left is to cut the response short
                raise
            body = failure_body(scope.get("path", ""), rid)
            await send_with_id({"type": "http.response.start", "status": 500, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store")]})
            await send({"type": "http.response.body", "body": body})
        finally:
            request_id.reset(token)
