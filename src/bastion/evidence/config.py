"""Building a vault from the environment, until Settings grows evidence fields.

    BASTION_EVIDENCE_MASTER_KEY           the master key itself (64 hex characters or base64)
    BASTION_EVIDENCE_MASTER_KEY_FILE      else a file holding it (default <data_dir>/evidence.key)
    BASTION_EVIDENCE_PREVIOUS_KEY_FILES   older keys still needed to unwrap (os.pathsep-separated)
    BASTION_EVIDENCE_STORE_URL            fsspec URL of the blob store (default <data_dir>/vault)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bastion.clock import Clock
from bastion.evidence.keys import KeyRing, MasterKey
from bastion.evidence.store import FsspecBlobStore
from bastion.evidence.vault import DEFAULT_MAX_BYTES, Vault

ENV_MASTER_KEY = "BASTION_EVIDENCE_MASTER_KEY"
ENV_MASTER_KEY_FILE = "BASTION_EVIDENCE_MASTER_KEY_FILE"
ENV_PREVIOUS_KEY_FILES = "BASTION_EVIDENCE_PREVIOUS_KEY_FILES"
ENV_STORE_URL = "BASTION_EVIDENCE_STORE_URL"


@dataclass(frozen=True)
class VaultConfig:
    store_url: str
    master_key_file: Path
    master_key_value: str | None = field(default=None, repr=False)
    previous_key_files: tuple[Path, ...] = ()
    max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def from_environ(cls, data_dir: Path, environ: Mapping[str, str] = os.environ) -> VaultConfig:
        previous = environ.get(ENV_PREVIOUS_KEY_FILES, "")
        return cls(
            store_url=environ.get(ENV_STORE_URL) or str(data_dir / "vault"),
            master_key_file=Path(environ.get(ENV_MASTER_KEY_FILE) or data_dir / "evidence.key"),
            master_key_value=environ.get(ENV_MASTER_KEY) or None,
            previous_key_files=tuple(Path(p) for p in previous.split(os.pathsep) if p),
        )

    def keys(self) -> KeyRing:
        current = (MasterKey.parse(self.master_key_value, source=ENV_MASTER_KEY) if self.master_key_value
                   else MasterKey.from_file(self.master_key_file))
        return KeyRing(current, [MasterKey.from_file(path) for path in self.previous_key_files])

    def store(self) -> FsspecBlobStore:
        return FsspecBlobStore(self.store_url)

    def vault(self, clock: Clock) -> Vault:
        return Vault(self.store(), self.keys(), clock, max_bytes=self.max_bytes)
