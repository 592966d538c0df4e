"""Per-application state and the request-scoped database session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth.login import Throttle
from bastion.clock import Clock
from bastion.config import Settings
from bastion.matching.banked import BankMatcher
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
    def throttle(self) -> Throttle:
        from datetime import timedelta

        return Throttle(self.settings.login_max_failures, timedelta(minutes=self.settings.login_lockout_minutes))


def get_state(request: Request) -> AppState:
    return request.app.state.bastion


def get_db(request: Request) -> Iterator[Session]:
    """A session for this request; whatever the handler did not commit is rolled back."""
    with get_state(request).sessions() as session:
        yield session


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""
