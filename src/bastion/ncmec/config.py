"""Operator configuration: credentials and environment from ``BASTION_NCMEC_*`` variables.

Kept apart from the client so the client never reads the environment itself
(tests and the lifecycle layer construct it explicitly).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bastion.ncmec.client import CyberTiplineClient, Environment

__all__ = ["NcmecSettings", "client_factory_from_env"]


class NcmecSettings(BaseSettings):
    """``BASTION_NCMEC_USERNAME``, ``_PASSWORD``, ``_ENVIRONMENT`` (test|production), ``_BASE_URL``."""

    model_config = SettingsConfigDict(env_prefix="BASTION_NCMEC_", extra="ignore")

    username: str
    password: SecretStr
    environment: Environment = Environment.TEST
    base_url: str | None = None

    def create_client(self, **options: Any) -> CyberTiplineClient:
        return CyberTiplineClient(
            self.username,
            self.password.get_secret_value(),
            environment=self.environment,
            base_url=self.base_url,
            **options,
        )


def client_factory_from_env(environ: dict[str, str] | None = None) -> Callable[[], CyberTiplineClient] | None:
    """A client factory from ``BASTION_NCMEC_*``, or None when no credentials are set.

    A partial or contradictory configuration (a user name without a password, production
    without an explicit URL, the production URL with ``environment=test``) raises here, at
    start-up, rather than when the first report is due.
    """
    env = os.environ if environ is None else environ
    if not env.get("BASTION_NCMEC_USERNAME") and not env.get("BASTION_NCMEC_PASSWORD"):
        return None
    settings = NcmecSettings() if environ is None else NcmecSettings(**{  # type: ignore[arg-type]
        key.removeprefix("BASTION_NCMEC_").lower(): value for key, value in environ.items()
        if key.startswith("BASTION_NCMEC_")
    })
    settings.create_client().close()  # validates environment and URL now
    return settings.create_client
