"""Which signal types banks hold, and how their values are checked."""

from __future__ import annotations

from bastion.banks.errors import UnknownSignalType
from bastion.media import MD5, PDQ, SHA1, SHA256, validate_hash

SIGNAL_TYPES: tuple[str, ...] = (PDQ, MD5, SHA1, SHA256)
EXACT_TYPES: tuple[str, ...] = (MD5, SHA1, SHA256)


def normalise(signal_type: str, value: object) -> tuple[str, str]:
    """(type, canonical value), or a typed error naming what is wrong."""
    kind = signal_type.strip().lower()
    if kind not in SIGNAL_TYPES:
        raise UnknownSignalType(f"Unknown signal type {signal_type!r}; use one of: {', '.join(SIGNAL_TYPES)}.")
    return kind, validate_hash(kind, value)
