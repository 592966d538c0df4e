"""Operator configuration of the CyberTipline client, taken from :class:`~bastion.config.Settings`.

``ncmec_username``, ``ncmec_password``, ``ncmec_environment`` (test|production) and
``ncmec_base_url`` (set as ``BASTION_NCMEC_*``). Kept apart from the client so the
client never reads configuration itself (tests and the lifecycle layer construct it
explicitly).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bastion.config import Settings
from bastion.ncmec.client import CyberTiplineClient, Environment
from bastion.ncmec.reports import LEASE

__all__ = ["NcmecConfig"]


@dataclass(frozen=True)
class NcmecConfig:
    """Credentials and environment of this instance's CyberTipline account (empty user: not configured)."""

    username: str = ""
    password: str = field(default="", repr=False)
    environment: Environment = Environment.TEST
    base_url: str | None = None
    #: How long a worker holds a report it is filing (`bastion.ncmec.reports.LEASE` by default).
    lease: timedelta = LEASE

    @classmethod
    def from_settings(cls, settings: Settings) -> NcmecConfig:
        return cls(
            username=settings.ncmec_username,
            password=settings.ncmec_password.get_secret_value() if settings.ncmec_password else "",
            environment=Environment(settings.ncmec_environment),
            base_url=settings.ncmec_base_url or None,
            lease=timedelta(seconds=settings.ncmec_lease_seconds),
        )

    def create_client(self, **options: Any) -> CyberTiplineClient:
        return CyberTiplineClient(
            self.username, self.password, environment=self.environment, base_url=self.base_url, **options
        )

    def client_factory(self) -> Callable[[], CyberTiplineClient] | None:
        """A client factory, or None when no credentials are set.

        A partial or contradictory configuration (a user name without a password, production
        without an explicit URL, the production URL with ``environment=test``) raises here, at
        start-up, rather than when the first report is due.
        """
        if not self.username and not self.password:
            return None
        if not self.username or not self.password:
            raise ValueError("NCMEC needs both a user name and a password (BASTION_NCMEC_USERNAME, BASTION_NCMEC_PASSWORD)")
        self.create_client().close()  # validates environment and URL now
        return self.create_client
