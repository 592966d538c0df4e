"""A Bastion app wired to the demo platform (the platform fixtures live in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bastion.platform import HttpPlatformConnector
from tests.conftest import PLATFORM_SECRET, with_platform


@pytest.fixture
def platform(platform_url: str) -> Iterator[HttpPlatformConnector]:
    connector = HttpPlatformConnector(platform_url, PLATFORM_SECRET)
    yield connector
    connector.close()


@pytest.fixture
def settings(settings, platform_url: str):  # type: ignore[no-untyped-def]
    """The shared settings, pointed at the demo platform."""
    return with_platform(settings, platform_url)
