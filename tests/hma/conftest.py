"""Fixtures for the HMA API: an app whose index refreshes on every lookup, a client with an API key.

Images are synthetic and benign: coloured noise, smoothly interpolated (Pillow/numpy).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from bastion.auth.roles import Role
from bastion.config import Settings
from tests.conftest import SECRET, api_login
from tests.livehttp import serve


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """As the shared one, but lookups always see the newest bank changes (no refresh interval)."""
    return Settings(data_dir=tmp_path / "var", database_url=database_url, secret_key=SECRET,
                    index_refresh_seconds=0)


def make_key(app, user_factory, clock, role: Role = Role.PLATFORM,  # type: ignore[no-untyped-def]
             scopes: list[str] | None = None) -> str:
    """A new API key for a new user with `role`, issued by a new admin (logged in on a client of its own)."""
    return issue_key(app, user_factory, clock, role, scopes)[0]


def issue_key(app, user_factory, clock, role: Role = Role.PLATFORM,  # type: ignore[no-untyped-def]
              scopes: list[str] | None = None) -> tuple[str, int]:
    """As `make_key`, with the key's id (what `/api/v1/apikeys` lists and settings refer to)."""
    client = TestClient(app)
    admin = user_factory(Role.ADMIN)
    csrf = api_login(client, admin, clock)
    owner = user_factory(role, enrol=False)
    body: dict = {"owner": owner.username, "name": "hma-client"}
    if scopes is not None:
        body["scopes"] = scopes
    response = client.post("/api/v1/apikeys", json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201, response.text
    return str(response.json()["key"]), int(response.json()["id"])


@pytest.fixture
def hma(app, user_factory, clock) -> TestClient:  # type: ignore[no-untyped-def]
    """An HMA client: a platform's API key as a bearer token, PDQ index loaded (as a served app has it)."""
    key = make_key(app, user_factory, clock)
    app.state.bastion.matcher.load()
    return TestClient(app, headers={"Authorization": f"Bearer {key}"})


def photo(seed: int, size: int = 512) -> Image.Image:
    """A benign synthetic picture: 16x16 random colours, bicubically enlarged (PDQ quality 100)."""
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)
    return Image.fromarray(cells).resize((size, size), Image.Resampling.BICUBIC)


def encode(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def flat_image() -> bytes:
    """A featureless grey square: PDQ quality 0, so HMA reports its PDQ as ""."""
    return encode(Image.new("RGB", (64, 64), (128, 128, 128)))


class MediaServer:
    """A loopback HTTP server serving one body; counts the requests it received."""

    def __init__(self, body: bytes, content_type: str) -> None:
        self.body, self.content_type, self.requests = body, content_type, 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", server.content_type)
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/media"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def media_server() -> Iterator[MediaServer]:
    with MediaServer(encode(photo(7)), "image/png") as server:
        yield server


@dataclass
class Served:
    """A Bastion app on a real loopback port, and an HMA client (httpx, an API key) talking to it."""

    app: FastAPI
    base: str
    client: httpx.Client
    key_id: int


@contextmanager
def serve_hma(settings: Settings, clock, engine, user_factory, *, load_index: bool = True,  # type: ignore[no-untyped-def]
              **updates: object) -> Iterator[Served]:
    """Serve Bastion over HTTP with `updates` applied to the settings; loopback fetching allowed (media server)."""
    from bastion.web.app import create_app

    app = create_app(settings.model_copy(update={"scan_url_allowed_networks": "127.0.0.0/8", **updates}),
                     clock=clock, engine=engine)
    key, key_id = issue_key(app, user_factory, clock)
    if load_index:  # as a served app with background tasks has it
        app.state.bastion.matcher.load()
    with serve(app) as base, httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"},
                                          timeout=60) as client:
        yield Served(app, base, client, key_id)


def reference_pdq(data: bytes) -> str:
    """What HMA's hasher reports: python-threatexchange's own PDQ signal, run here on the same bytes."""
    from threatexchange.signal_type.pdq.signal import PdqSignal

    return str(PdqSignal.hash_from_bytes(data))
