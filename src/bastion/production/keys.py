"""The Ed25519 key that signs production packages.

One long-lived key per instance, kept as an unencrypted PKCS#8 PEM file readable by its
owner only (like the evidence master key: the file's permissions and the host are what
protect it). Recipients get the public half from a well-known URL or the CLI and check
packages with nothing but OpenSSL.

The key id is the first 32 hex characters of SHA-256 over the public key's DER
SubjectPublicKeyInfo, so anyone can recompute it from the PEM:

    openssl pkey -pubin -in key.pem -outform DER | openssl dgst -sha256
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bastion.production.errors import KeyFileError

log = logging.getLogger(__name__)


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """The key id: SHA-256 of the DER SubjectPublicKeyInfo, first 16 bytes, hex."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:32]


def public_pem_of(public_key: Ed25519PublicKey) -> str:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class SigningKey:
    """An Ed25519 private key with its id. `repr` never shows the secret."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private = private_key

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        """Read a PEM private key file; a group- or world-readable file is used, with a warning."""
        try:
            data = Path(path).read_bytes()
            mode = stat.S_IMODE(Path(path).stat().st_mode)
        except FileNotFoundError:
            raise KeyFileError(
                f"No production signing key at {path}. Create one with `bastion production new-key`, or restore it "
                "from your key backup (packages signed with a lost key can still be verified with its public key)."
            ) from None
        except OSError as exc:
            raise KeyFileError(f"Cannot read the production signing key {path}: {exc.strerror}.") from None
        if mode & 0o077:
            log.warning("production signing key file is readable by others; chmod 600 it",
                        extra={"path": str(path), "mode": oct(mode)})
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            raise KeyFileError(f"{path} is not an unencrypted PEM private key.") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyFileError(f"{path} holds a {type(key).__name__}; production packages are signed with Ed25519.")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """The key at `path`, made on first use (the embedded default: `make run` needs no setup)."""
        try:
            return cls.load(path)
        except KeyFileError:
            if Path(path).exists():
                raise
        key = cls.generate()
        try:
            key.save(path)
        except FileExistsError:  # another process made it first: use theirs
            return cls.load(path)
        return key

    def save(self, path: Path) -> None:
        """Write the key to a new file (never over an existing one), mode 0600."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = self._private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._private.public_key()

    @property
    def public_pem(self) -> str:
        return public_pem_of(self.public_key)

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key)

    def sign(self, data: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `data`."""
        return self._private.sign(data)

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.key_id!r})"


def load_public_key(key: Ed25519PublicKey | SigningKey | str | bytes) -> Ed25519PublicKey:
    """A public key from a key object, a signing key, or PEM text."""
    if isinstance(key, Ed25519PublicKey):
        return key
    if isinstance(key, SigningKey):
        return key.public_key
    try:
        loaded = serialization.load_pem_public_key(key.encode() if isinstance(key, str) else key)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyFileError("That is not a PEM public key (it should start with -----BEGIN PUBLIC KEY-----).") from None
    if not isinstance(loaded, Ed25519PublicKey):
        raise KeyFileError(f"That is a {type(loaded).__name__}; production packages are signed with Ed25519.")
    return loaded


def public_key_document(key: SigningKey | Ed25519PublicKey, previous: tuple[Ed25519PublicKey, ...] = ()) -> dict[str, object]:
    """What the well-known URL serves: the current public key and its id (and retired keys, still valid
    for packages they signed), so a recipient can verify a package without asking anyone."""
    public = load_public_key(key)
    return {
        "algorithm": "Ed25519",
        "key_id": key_id_of(public),
        "public_key_pem": public_pem_of(public),
        "use": "verifies manifest.sig of Bastion production packages (see docs/production-packages.md)",
        "previous_keys": [{"key_id": key_id_of(p), "public_key_pem": public_pem_of(p)} for p in previous],
    }
