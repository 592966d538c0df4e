"""Running the demo platform: blocking (CLI) or in a background thread (tests)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import uvicorn

from bastion.platform.demo.app import create_demo_platform_app
from bastion.platform.signing import Secret

__all__ = ["BackgroundServer", "serve_demo_platform"]


def serve_demo_platform(host: str, port: int, db_path: str | Path, secret: Secret) -> None:
    """Serve the demo platform until interrupted (does not seed)."""
    app = create_demo_platform_app(db_path, secret)
    uvicorn.run(app, host=host, port=port, log_level="info")


class BackgroundServer:
    """Run an ASGI app under uvicorn in a daemon thread, on a real socket.

    The socket is bound before the thread starts (port 0 = any free port), so
    there is no race between picking a port and listening on it.

    >>> with BackgroundServer(app) as server:
    ...     httpx.get(server.base_url + "/healthz")
    """

    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 15.0
    ) -> None:
        self._config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,  # leave the process's logging configuration alone
            log_level="warning",
            access_log=False,
            lifespan="on",
        )
        self._server = uvicorn.Server(self._config)
        self._startup_timeout = startup_timeout
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.base_url = ""

    def start(self) -> str:
        """Start serving; return the base URL (``http://127.0.0.1:<port>``)."""
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
        host, port = sock.getsockname()[:2]
        self.base_url = f"http://{f'[{host}]' if family == socket.AF_INET6 else host}:{port}"

        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="demo-platform", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("demo platform server exited during startup")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("demo platform server did not start in time")
            time.sleep(0.01)
        return self.base_url

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
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
