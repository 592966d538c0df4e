"""Per-application state and the request-scoped database session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth.throttle import Policy
from bastion.clock import Clock
from bastion.config import Settings
from bastion.matching.banked import BankMatcher
from bastion.platform import PlatformConnector
from bastion.scanning.service import Scanner


@dataclass
class AppState:
    """Everything a request handler may need, created once per application."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    secret: bytes
    matcher: BankMatcher
    scanner: Scanner
    services: dict[str, Any] = field(default_factory=dict)

    @property
    def throttle(self) -> Policy:
        """The login throttle's limits, from the settings."""
        from datetime import timedelta

        s = self.settings
        return Policy(account_failures=s.login_max_failures, ip_failures=s.login_ip_max_failures,
                      lockout=timedelta(minutes=s.login_lockout_minutes),
                      window=timedelta(minutes=s.login_failure_window_minutes))


def get_state(request: Request) -> AppState:
    return request.app.state.bastion


def get_db(request: Request) -> Iterator[Session]:
    """A session for this request; whatever the handler did not commit is rolled back."""
    with get_state(request).sessions() as session:
        yield session


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


@contextmanager
def platform_connector(request: Request) -> Iterator[PlatformConnector | None]:
    """The host platform's connector for the length of one request, or None when none is configured."""
    from bastion.actions.tasks import CONNECTOR_FACTORY

    factory = get_state(request).services.get(CONNECTOR_FACTORY)
    connector = factory() if factory else None
    try:
        yield connector
    finally:
        close = getattr(connector, "close", None)
        if close:
            close()
