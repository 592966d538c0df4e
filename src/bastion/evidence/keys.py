"""Master keys: loading, identifying and holding them.

A master key never encrypts evidence itself; it only wraps the per-object data keys
(see `envelope`). That is what makes rotation cheap: a new master key re-wraps 48-byte
data keys and never touches the blobs.

The key id is an HMAC of a fixed label under the key, so the database can say which
key sealed an object without storing anything that helps recover the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bastion.evidence.errors import VaultKeyError

KEY_BYTES = 32
_ID_LABEL = b"bastion.evidence.key-id.v1"


@dataclass(frozen=True)
class MasterKey:
    """A 256-bit master key. `repr` never shows the secret."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) != KEY_BYTES:
            raise VaultKeyError(
                f"An evidence master key must be {KEY_BYTES} bytes (64 hex characters or 44 base64 characters); "
                f"this one is {len(self.secret)} bytes. Create a proper one with `bastion evidence new-key PATH`."
            )

    @property
    def key_id(self) -> str:
        return hmac.new(self.secret, _ID_LABEL, hashlib.sha256).hexdigest()[:16]

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def parse(cls, text: str, *, source: str = "the configured value") -> MasterKey:
        """Read a key written as 64 hex characters or as base64 of 32 bytes."""
        value = text.strip()
        try:
            raw = bytes.fromhex(value) if len(value) == 2 * KEY_BYTES else base64.b64decode(value, validate=True)
        except (ValueError, binascii.Error):
            raise VaultKeyError(
                f"The evidence master key in {source} is not 64 hex characters or base64 of 32 bytes. "
                "Restore the original key (from your key backup) or create a new one with "
                "`bastion evidence new-key PATH` if the vault is still empty."
            ) from None
        return cls(raw)

    @classmethod
    def from_file(cls, path: Path) -> MasterKey:
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise VaultKeyError(
                f"No evidence master key file at {path}. Restore it from your key backup, point "
                "BASTION_EVIDENCE_MASTER_KEY_FILE at it, or create one with `bastion evidence new-key "
                f"{path}` if the vault is still empty."
            ) from None
        except OSError as exc:
            raise VaultKeyError(f"Cannot read the evidence master key file {path}: {exc.strerror}.") from None
        return cls.parse(text, source=str(path))

    def write_new_file(self, path: Path) -> None:
        """Write the key as hex to a file that must not exist yet, readable by its owner only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise VaultKeyError(f"{path} already exists; refusing to overwrite a master key.") from None
        with os.fdopen(fd, "w") as handle:
            handle.write(self.secret.hex() + "\n")


class KeyRing:
    """The current master key, which seals new objects, and previous ones that can still unwrap.

    Previous keys are only needed while a rotation is unfinished or when reading a
    database restored from a backup taken before the last rotation.
    """

    def __init__(self, current: MasterKey, previous: Iterable[MasterKey] = ()) -> None:
        self.current = current
        self._by_id = {key.key_id: key for key in previous}
        self._by_id[current.key_id] = current

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self._by_id)

    def get(self, key_id: str) -> MasterKey:
        try:
            return self._by_id[key_id]
        except KeyError:
            raise VaultKeyError(
                f"Evidence is sealed with master key {key_id}, but this vault was given "
                f"{', '.join(sorted(self._by_id))}. Configure the master key whose id is {key_id} "
                "(BASTION_EVIDENCE_MASTER_KEY or BASTION_EVIDENCE_MASTER_KEY_FILE); if a rotation is unfinished, "
                "add the old key to BASTION_EVIDENCE_PREVIOUS_KEY_FILES and run `bastion evidence rotate-key` again."
            ) from None

    def rotated_to(self, new: MasterKey) -> KeyRing:
        """The ring after a rotation: `new` is current, every key held so far can still unwrap."""
        return KeyRing(new, [key for key in self._by_id.values() if key.key_id != new.key_id])
