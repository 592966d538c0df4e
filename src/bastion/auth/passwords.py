"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bastion.errors import InvalidInput

_hasher = PasswordHasher()
MIN_LENGTH = 12



@cache
def _dummy_hash() -> str:
    """Verifying against this keeps the time for unknown usernames the same as for known ones.

    Made on first use, not at import: an argon2 hash costs ~0.1 s, which every command-line start paid.
    """
    return _hasher.hash("not-a-real-password-just-timing")


class WeakPassword(InvalidInput):
    """The password is too short; the message says how long it must be."""


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Passwords must be at least {MIN_LENGTH} characters long.")


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if `password` matches; always spends one argon2 verification."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
