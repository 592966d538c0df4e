"""Operator configuration: credentials and environment from ``BASTION_NCMEC_*`` variables.

Kept apart from the client so the client never reads the environment itself
(tests and the lifecycle layer construct it explicitly).
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bastion.ncmec.client import CyberTiplineClient, Environment

__all__ = ["NcmecSettings"]


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
