"""Reviewers' media: kept encrypted in the evidence vault, or fetched from the platform."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bastion.cases.models import CaseItem
from bastion.clock import Clock
from bastion.config import Settings
from bastion.scanning.models import Scan

log = logging.getLogger(__name__)
VAULT_PREFIX = "evidence:"


class VaultMedia:
    """Matched media goes into the vault at scan time; reading it is a custody event."""

    def __init__(self, vault: Any, connector: Any | None = None) -> None:
        self.vault, self.connector = vault, connector

    def keep(self, session: Session, data: bytes, *, scan: Scan) -> str:
        item = self.vault.preserve(
            session, data, kind="media", subject=f"scan:{scan.id}", actor="bastion",
            reason="media of a bank match, kept for review",
            metadata={"scan_id": scan.id, "content_id": scan.content_id, "account_id": scan.account_id},
        )
        return f"{VAULT_PREFIX}{item.id}"

    def load(self, session: Session, item: CaseItem, *, actor: str, reason: str) -> bytes | None:
        if item.media_ref.startswith(VAULT_PREFIX):
            return self.vault.open(session, int(item.media_ref[len(VAULT_PREFIX):]), actor=actor, reason=reason)
        if self.connector is not None and item.content_id:
            return self.connector.fetch_media(item.content_id)
        return None


    def load_to_file(self, session: Session, item: CaseItem, path: Path, *, actor: str, reason: str) -> bool:
        """Write the item's media to `path` (a private temporary file): a video is streamed, never held whole."""
        if item.media_ref.startswith(VAULT_PREFIX):
            with self.vault.open_stream(session, int(item.media_ref[len(VAULT_PREFIX):]), actor=actor,
                                        reason=reason) as source, path.open("wb") as target:
                shutil.copyfileobj(source, target, _COPY_BYTES)
            return True
        data = self.load(session, item, actor=actor, reason=reason)
        if data is None:
            return False
        path.write_bytes(data)
        return True


_COPY_BYTES = 1 << 20


def open_vault(settings: Settings, clock: Clock) -> Any:
    """The evidence vault of this instance; on first use a master key file is created (mode 0600)."""
    from bastion.evidence.config import VaultConfig
    from bastion.evidence.keys import MasterKey

    config = VaultConfig.from_settings(settings)
    if config.master_key_value is None and not config.master_key_file.exists():
        if any(True for _ in config.store().keys()):
            from bastion.evidence.errors import VaultKeyError

            raise VaultKeyError(
                f"The evidence store {config.store_url} holds objects but the master key file "
                f"{config.master_key_file} is missing. Restore the key file (or set BASTION_EVIDENCE_MASTER_KEY); "
                "a new key cannot read existing evidence."
            )
        config.master_key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        MasterKey.generate().write_new_file(config.master_key_file)
        log.info("created the evidence master key file", extra={"path": str(config.master_key_file)})
    warning = config.key_warning(settings.data_dir)
    if warning:
        log.warning(warning, extra={"path": str(config.master_key_file)})
    return config.vault(clock)


def build_media_store(settings: Settings, clock: Clock) -> VaultMedia:
    connector = None
    if settings.platform_url and settings.platform_secret:
        from bastion.platform.http_connector import HttpPlatformConnector

        # Signed with the wall clock: the platform checks the timestamp against its own.
        connector = HttpPlatformConnector(settings.platform_url, settings.platform_secret.get_secret_value())
    return VaultMedia(open_vault(settings, clock), connector)
