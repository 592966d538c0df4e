"""Envelope encryption of one object: AES-256-GCM under a fresh data key, wrapped by a master key.

Stored object:  MAGIC | nonce (12) | ciphertext+tag
Wrapped key:    nonce (12) | AESGCM(master).encrypt(data key)

Both encryptions take associated data naming the object key and the plaintext's
SHA-256. Authentication therefore fails if an object file is swapped for another
one, or a wrapped key is copied onto another object's row, not only if bytes flip.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from bastion.evidence.errors import TamperedEvidence
from bastion.evidence.keys import MasterKey

MAGIC = b"BVE1"
NONCE_BYTES = 12
_DATA_LABEL = b"bastion.evidence.data.v1"
_WRAP_LABEL = b"bastion.evidence.dek.v1"


def _aad(label: bytes, object_key: str, sha256: str) -> bytes:
    return b"\x00".join((label, object_key.encode(), sha256.encode()))


def seal(plaintext: bytes, *, object_key: str, sha256: str, master: MasterKey) -> tuple[bytes, bytes]:
    """Encrypt `plaintext`; returns (stored object bytes, wrapped data key)."""
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = secrets.token_bytes(NONCE_BYTES)
    body = AESGCM(data_key).encrypt(nonce, plaintext, _aad(_DATA_LABEL, object_key, sha256))
    return MAGIC + nonce + body, wrap(data_key, object_key=object_key, sha256=sha256, master=master)


def wrap(data_key: bytes, *, object_key: str, sha256: str, master: MasterKey) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + AESGCM(master.secret).encrypt(nonce, data_key, _aad(_WRAP_LABEL, object_key, sha256))


def unwrap(wrapped: bytes, *, object_key: str, sha256: str, master: MasterKey) -> bytes:
    """The data key; the master key must be the one whose id the row records."""
    try:
        return AESGCM(master.secret).decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], _aad(_WRAP_LABEL, object_key, sha256)
        )
    except InvalidTag:
        raise TamperedEvidence(
            f"The wrapped data key of evidence object {object_key} does not authenticate: its database row was "
            "altered or copied from another object. Restore the row from a backup and run `bastion evidence verify`."
        ) from None


def unseal(stored: bytes, data_key: bytes, *, object_key: str, sha256: str) -> bytes:
    """Decrypt a stored object; raises TamperedEvidence on any change to it."""
    if not stored.startswith(MAGIC) or len(stored) < len(MAGIC) + NONCE_BYTES + 16:
        raise _tampered(object_key, "it is not a sealed evidence object")
    nonce, body = stored[len(MAGIC):len(MAGIC) + NONCE_BYTES], stored[len(MAGIC) + NONCE_BYTES:]
    try:
        return AESGCM(data_key).decrypt(nonce, body, _aad(_DATA_LABEL, object_key, sha256))
    except InvalidTag:
        raise _tampered(object_key, "its ciphertext does not authenticate") from None


def _tampered(object_key: str, why: str) -> TamperedEvidence:
    return TamperedEvidence(
        f"Evidence object {object_key} was altered in storage ({why}). Do not use it; restore the object "
        "from a backup of the blob store and run `bastion evidence verify`.",
        object_key=object_key,
    )
