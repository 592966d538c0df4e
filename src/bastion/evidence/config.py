"""The vault's typed configuration, taken from :class:`~bastion.config.Settings`.

    evidence_master_key           the master key itself (64 hex characters or base64)
    evidence_master_key_file      else a file holding it (default <data_dir>-keys/evidence.key: beside the
                                  data directory, never inside it, so a copy of the data is not also its key)
    evidence_previous_key_files   older keys still needed to unwrap (os.pathsep-separated)
    evidence_store_url            fsspec URL of the blob store (default <data_dir>/vault)
    evidence_chunk_bytes          unit of encryption when streaming (default 1 MiB)

The ``ENV_*`` names are what an operator sets (``BASTION_`` + the field name); messages quote them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bastion.clock import Clock
from bastion.config import Settings
from bastion.evidence.envelope import DEFAULT_CHUNK_BYTES
from bastion.evidence.keys import KeyRing, MasterKey
from bastion.evidence.store import FsspecBlobStore
from bastion.evidence.vault import DEFAULT_MAX_BYTES, Vault

ENV_MASTER_KEY = "BASTION_EVIDENCE_MASTER_KEY"
ENV_MASTER_KEY_FILE = "BASTION_EVIDENCE_MASTER_KEY_FILE"
ENV_PREVIOUS_KEY_FILES = "BASTION_EVIDENCE_PREVIOUS_KEY_FILES"
ENV_STORE_URL = "BASTION_EVIDENCE_STORE_URL"


def default_key_file(data_dir: Path) -> Path:
    """`<data_dir>-keys/evidence.key`; an instance from before keeps the key where it already is."""
    legacy = data_dir / "evidence.key"
    return legacy if legacy.exists() else data_dir.parent / f"{data_dir.name or 'data'}-keys" / "evidence.key"


@dataclass(frozen=True)
class VaultConfig:
    store_url: str
    master_key_file: Path
    master_key_value: str | None = field(default=None, repr=False)
    previous_key_files: tuple[Path, ...] = ()
    max_bytes: int = DEFAULT_MAX_BYTES
    chunk_bytes: int = DEFAULT_CHUNK_BYTES

    @classmethod
    def from_settings(cls, settings: Settings) -> VaultConfig:
        key = settings.evidence_master_key.get_secret_value() if settings.evidence_master_key else ""
        previous = settings.evidence_previous_key_files
        return cls(
            store_url=settings.evidence_store_url or str(settings.data_dir / "vault"),
            master_key_file=Path(settings.evidence_master_key_file or default_key_file(settings.data_dir)),
            master_key_value=key or None,
            previous_key_files=tuple(Path(p) for p in previous.split(os.pathsep) if p),
            chunk_bytes=settings.evidence_chunk_bytes,
        )

    def key_warning(self, data_dir: Path) -> str | None:
        """A loud sentence when the master key sits inside the data directory, beside what it protects."""
        if self.master_key_value is not None:
            return None
        try:
            inside = self.master_key_file.resolve().is_relative_to(data_dir.resolve())
        except OSError:
            return None
        if not inside:
            return None
        return (f"The evidence master key {self.master_key_file} is inside the data directory {data_dir}: anyone "
                "with a copy of the data (a backup, a snapshot) can decrypt the evidence. Move the key elsewhere "
                f"(a separate volume, a secrets manager) and point {ENV_MASTER_KEY_FILE} at it, or pass the key in "
                f"{ENV_MASTER_KEY} from a KMS at start-up.")

    def keys(self) -> KeyRing:
        current = (MasterKey.parse(self.master_key_value, source=ENV_MASTER_KEY) if self.master_key_value
                   else MasterKey.from_file(self.master_key_file))
        return KeyRing(current, [MasterKey.from_file(path) for path in self.previous_key_files])

    def store(self) -> FsspecBlobStore:
        return FsspecBlobStore(self.store_url)

    def vault(self, clock: Clock) -> Vault:
        return Vault(self.store(), self.keys(), clock, max_bytes=self.max_bytes, chunk_bytes=self.chunk_bytes)
