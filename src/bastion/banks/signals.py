"""Which signal types banks hold, and how their values are checked."""

from __future__ import annotations

import hashlib

from bastion.banks.errors import UnknownSignalType
from bastion.errors import InvalidInput
from bastion.media import MD5, PDQ, SHA1, SHA256, validate_hash
from bastion.media.video import VIDEO_MD5, VPDQ, features_to_signal, signal_to_features

SIGNAL_TYPES: tuple[str, ...] = (PDQ, MD5, SHA1, SHA256, VPDQ)
EXACT_TYPES: tuple[str, ...] = (MD5, SHA1, SHA256)
#: Other names accepted for a stored type: python-threatexchange's `video_md5` is the MD5 of a file's bytes.
ALIASES: dict[str, str] = {VIDEO_MD5: MD5}


def normalise(signal_type: str, value: object) -> tuple[str, str]:
    """(type, canonical value), or a typed error naming what is wrong.

    A vPDQ value is python-threatexchange's signal string, re-serialised so that the same
    frames always read the same (see `stored_value` for what `entry_signals` keeps of it).
    """
    kind = signal_type.strip().lower()
    kind = ALIASES.get(kind, kind)
    if kind not in SIGNAL_TYPES:
        raise UnknownSignalType(f"Unknown signal type {signal_type!r}; use one of: {', '.join(SIGNAL_TYPES)}.")
    if kind == VPDQ:
        return kind, canonical_vpdq(value)
    return kind, validate_hash(kind, value)


def canonical_vpdq(value: object) -> str:
    """python-threatexchange's vPDQ string for `value`, or InvalidInput saying which frame is wrong."""
    if not isinstance(value, str):
        raise InvalidInput("A vPDQ signal is a JSON list of \"hash,quality,seconds\" strings.")
    try:
        features = signal_to_features(value)
    except ValueError as exc:
        raise InvalidInput(f"Invalid vPDQ signal: {exc}.") from None
    if not features:
        raise InvalidInput("A vPDQ signal needs at least one frame.")
    return features_to_signal(features)


def stored_value(kind: str, value: str) -> str:
    """What `entry_signals.value` holds: the value itself, or for vPDQ the SHA-256 of its canonical string."""
    return hashlib.sha256(value.encode()).hexdigest() if kind == VPDQ else value
