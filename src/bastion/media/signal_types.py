"""Signal-type names and validators for the hashes this package produces.

Names follow python-threatexchange (``"pdq"``, ``"md5"``) so hashes exchanged
with ThreatExchange / Hasher-Matcher-Actioner keep their labels. Validators
normalise to the canonical form (lower-case hex, surrounding whitespace
removed) and raise :class:`InvalidHash` naming the rejected value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from bastion.media.errors import InvalidHash

PDQ: Final = "pdq"
MD5: Final = "md5"
SHA1: Final = "sha1"
SHA256: Final = "sha256"

HEX_LENGTHS: Final[Mapping[str, int]] = MappingProxyType(
    {PDQ: 64, MD5: 32, SHA1: 40, SHA256: 64}
)
"""Number of hex characters in each signal type's canonical string."""

_PATTERNS: Final = {
    name: re.compile(f"[0-9a-f]{{{length}}}") for name, length in HEX_LENGTHS.items()
}


def validate_hash(signal_type: str, value: object) -> str:
    """Canonical lower-case hex of ``value`` for ``signal_type``; else InvalidHash."""
    try:
        pattern = _PATTERNS[signal_type]
    except KeyError:
        raise ValueError(
            f"Unknown signal type {signal_type!r}; "
            f"expected one of {', '.join(HEX_LENGTHS)}."
        ) from None
    expected = f"{HEX_LENGTHS[signal_type]} hexadecimal characters (0-9, a-f)"
    if not isinstance(value, str):
        raise InvalidHash(signal_type, value, expected)
    normalised = value.strip().lower()
    if pattern.fullmatch(normalised) is None:
        raise InvalidHash(signal_type, value, expected)
    return normalised


def validate_pdq(value: object) -> str:
    """Canonical PDQ hex (64 chars, 256 bits)."""
    return validate_hash(PDQ, value)


def validate_md5(value: object) -> str:
    """Canonical MD5 hex (32 chars)."""
    return validate_hash(MD5, value)


def validate_sha1(value: object) -> str:
    """Canonical SHA-1 hex (40 chars)."""
    return validate_hash(SHA1, value)


def validate_sha256(value: object) -> str:
    """Canonical SHA-256 hex (64 chars)."""
    return validate_hash(SHA256, value)
