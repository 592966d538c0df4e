"""Where the instance's production signing key lives, taken from :class:`~bastion.config.Settings`.

    BASTION_PRODUCTION_SIGNING_KEY_FILE   the Ed25519 PEM (default <data_dir>/production-signing.pem)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bastion.config import Settings
from bastion.production.keys import SigningKey

ENV_SIGNING_KEY_FILE = "BASTION_PRODUCTION_SIGNING_KEY_FILE"


@dataclass(frozen=True)
class ProductionConfig:
    """The signing key file of this instance (created on first use by ``SigningKey.load_or_create``)."""

    signing_key_file: Path

    @classmethod
    def from_settings(cls, settings: Settings) -> ProductionConfig:
        return cls(Path(settings.production_signing_key_file or settings.data_dir / "production-signing.pem"))

    def signing_key(self) -> SigningKey:
        """The instance's key, created (mode 0600) on first use."""
        return SigningKey.load_or_create(self.signing_key_file)
