"""Fixtures: a seeded demo platform served by uvicorn on a free 127.0.0.1 port.

The seeded SQLite file is built once per session and copied per test, so every
test gets pristine data without re-rendering the demo images.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI

from bastion.dev.platform import (
    DemoControls,
    create_demo_platform_app,
    demo_controls,
    seed_demo_platform,
)
from bastion.dev.serving import BackgroundServer
from bastion.platform import HttpPlatformConnector

SECRET = "test-secret-0123456789abcdef0123456789"
#: "Now" for the demo platform and the connector in HTTP tests.
NOW = datetime(2024, 3, 21, 9, 0, tzinfo=UTC)


class FakeClock:
    """Injectable clock: returns ``now`` until told otherwise."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def secret() -> str:
    return SECRET


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def seeded_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo-platform-template") / "platform.sqlite3"
    assert seed_demo_platform(path)
    return path


@pytest.fixture
def demo_db(seeded_db_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "platform.sqlite3"
    shutil.copyfile(seeded_db_template, path)
    return path


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW.timestamp())


@pytest.fixture
def platform_app(demo_db: Path, clock: FakeClock) -> FastAPI:
    return create_demo_platform_app(demo_db, SECRET, clock=clock)


@pytest.fixture
def controls(platform_app: FastAPI) -> DemoControls:
    return demo_controls(platform_app)


@pytest.fixture
def base_url(platform_app: FastAPI) -> Iterator[str]:
    with BackgroundServer(platform_app) as server:
        yield server.base_url


@pytest.fixture
def connector(base_url: str, clock: FakeClock) -> Iterator[HttpPlatformConnector]:
    with HttpPlatformConnector(base_url, SECRET, timeout=10.0, clock=clock) as platform:
        yield platform
