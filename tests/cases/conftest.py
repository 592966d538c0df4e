"""The demo platform over real HTTP, and a Bastion app wired to it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bastion.platform import HttpPlatformConnector
from bastion.platform.demo import BackgroundServer, create_demo_platform_app, seed_demo_platform

PLATFORM_SECRET = "demo-platform-shared-secret-for-tests"


@pytest.fixture(scope="session")
def platform_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("review-platform") / "platform.sqlite3"
    seed_demo_platform(path)
    return path


@pytest.fixture
def platform_url(platform_template: Path, tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "platform.sqlite3"
    shutil.copyfile(platform_template, path)
    with BackgroundServer(create_demo_platform_app(path, PLATFORM_SECRET)) as server:
        yield server.base_url


@pytest.fixture
def platform(platform_url: str) -> Iterator[HttpPlatformConnector]:
    connector = HttpPlatformConnector(platform_url, PLATFORM_SECRET)
    yield connector
    connector.close()


@pytest.fixture
def settings(settings, platform_url: str):  # type: ignore[no-untyped-def]
    """The shared settings, pointed at the demo platform."""
    from pydantic import SecretStr

    return settings.model_copy(update={"platform_url": platform_url, "platform_secret": SecretStr(PLATFORM_SECRET)})
