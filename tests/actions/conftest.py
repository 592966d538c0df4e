"""Fixtures: the demo platform over real HTTP, driven by the same injected clock as Bastion.

The platform's signature check, its action timestamps and the connector's signing all
read the test's `ManualClock`, so moving the clock past a lease or a backoff moves the
whole world and no test ever sleeps.
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from bastion.actions import ConnectorFactory, Deliverer
from bastion.clock import ManualClock
from bastion.dev.platform import DemoControls, create_demo_platform_app, demo_controls
from bastion.dev.serving import BackgroundServer
from bastion.platform import HttpPlatformConnector
from tests.actions.helpers import PLATFORM_SECRET, POLICY, unix


@pytest.fixture
def platform_app(platform_template: Path, tmp_path: Path, clock: ManualClock) -> FastAPI:
    path = tmp_path / "platform.sqlite3"
    shutil.copyfile(platform_template, path)
    return create_demo_platform_app(path, PLATFORM_SECRET, clock=unix(clock))


@pytest.fixture
def controls(platform_app: FastAPI) -> DemoControls:
    return demo_controls(platform_app)


@pytest.fixture
def platform_url(platform_app: FastAPI) -> Iterator[str]:
    with BackgroundServer(platform_app) as server:
        yield server.base_url


@pytest.fixture
def connect(platform_url: str, clock: ManualClock) -> ConnectorFactory:
    """A fresh HTTP connector per delivery pass, as a worker would build one."""
    return lambda: HttpPlatformConnector(platform_url, PLATFORM_SECRET, timeout=10.0, clock=unix(clock))


@pytest.fixture
def deliverer(sessions: sessionmaker[Session], connect: ConnectorFactory, clock: ManualClock) -> Deliverer:
    return Deliverer(sessions, connect, clock, policy=POLICY, name="worker-1", rng=random.Random(7))
