"""Serving a stand-in: on a background thread (tests, ``bastion serve --demo``) or in the foreground.

Every stand-in in :mod:`bastion.dev` runs through these pieces, so a new one
(an exchange, the DSA database) gets the same loopback socket handling and the
same request-id tagging without writing them again.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from dataclasses import dataclass
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Literal, Self

import uvicorn

__all__ = ["BackgroundServer", "Failures", "RequestIdMiddleware", "serve_foreground"]

_log = logging.getLogger("bastion.dev")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def serve_foreground(
    app: Any, host: str, port: int, *, name: str, log_level: str = "info", access_log: bool = False
) -> None:
    """Serve ``app`` until interrupted; warn when it listens beyond loopback (stand-ins are local tools)."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        _log.warning("the %s is listening on %s, not loopback; it is for local use only", name, host)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=access_log)


@dataclass
class Failures:
    """A stand-in told to fail: the next `count` requests answer `status` (a 500 storm, a gateway timeout)."""

    count: int = 0
    status: int = 500

    def take(self) -> int | None:
        if self.count <= 0:
            return None
        self.count -= 1
        return self.status


class BackgroundServer:
    """Run an ASGI app under uvicorn in a daemon thread, on a real socket.

    The socket is bound before the thread starts (port 0 = any free port), so
    there is no race between picking a port and listening on it.

    >>> with BackgroundServer(app) as server:
    ...     httpx.get(server.base_url + "/healthz")
    """

    def __init__(
        self,
        app: Any,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 15.0,
        lifespan: Literal["auto", "on", "off"] = "auto",
    ) -> None:
        self.app = app
        self._config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,  # leave the process's logging configuration alone
            log_level="warning",
            access_log=False,
            lifespan=lifespan,
        )
        self._server = uvicorn.Server(self._config)
        self._startup_timeout = startup_timeout
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.host = host
        self.port: int | None = None

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>`` once started."""
        if self.port is None:
            raise RuntimeError("server not started")
        return f"http://{f'[{self.host}]' if ':' in self.host else self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """Where a client points; a stand-in under a path prefix overrides this."""
        return self.origin

    def start(self) -> Self:
        """Start serving; :attr:`base_url` answers once this returns."""
        if self._thread is not None:
            raise RuntimeError("already started")
        family = socket.AF_INET6 if ":" in self._config.host else socket.AF_INET
        # proto must be explicit: asyncio only enables TCP_NODELAY on accepted
        # sockets whose proto is IPPROTO_TCP; with proto=0 every response
        # stalls ~40 ms on Nagle + delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._config.host, self._config.port))
        self._socket = sock
        self.port = sock.getsockname()[1]

        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="dev-background-server", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the server exited during startup")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the server did not start in time")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=self._startup_timeout)
        self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class RequestIdMiddleware:
    """Tags every reply, errors and 401s included, with a fresh request id (support quotes it).

    ``header`` and ``make_id`` follow the service being imitated; the id is also
    left in ``scope["state"]["request_id"]`` for the stand-in's own logs.
    """

    def __init__(self, app: ASGIApp, *, header: str, make_id: Callable[[], str]) -> None:
        self.app = app
        self._header = header.lower().encode("latin-1")
        self._make_id = make_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._make_id()
        scope.setdefault("state", {})["request_id"] = request_id
        encoded = request_id.encode("latin-1")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (self._header, encoded)]
            await send(message)

        await self.app(scope, receive, send_with_id)

