"""Which hashes of a file are worth matching on: the rule every lookup shares.

The scan pipeline, rescans and the HMA-compatible API all hash a file and then
match some of its hashes. A PDQ hash of a flat or featureless image matches far
too much, so below :data:`MIN_PDQ_QUALITY` it is left out everywhere alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from bastion.media import MD5, PDQ, SHA1, SHA256, DecodeLimits, MediaHashes, compute_digests
from bastion.media.isolation import hash_untrusted

#: PDQ hashes below this quality describe flat or featureless images and match too much.
MIN_PDQ_QUALITY = 50


def signals_of(hashes: MediaHashes) -> dict[str, str]:
    """The signals to match; PDQ only when its quality makes it meaningful."""
    signals = {MD5: hashes.md5, SHA1: hashes.sha1, SHA256: hashes.sha256}
    if hashes.pdq_quality >= MIN_PDQ_QUALITY:
        signals[PDQ] = hashes.pdq
    return signals


@dataclass(frozen=True)
class FileSignals:
    """Every hash of one file by signal type (PDQ is "" when too poor to match on), and PDQ's variants."""

    values: dict[str, str]
    pdq_variants: tuple[str, ...] = ()  # rotations and mirrorings, for lookups


def file_signals(data: bytes, limits: DecodeLimits, *, decode: bool = True, dihedral: bool = False) -> FileSignals:
    """Hash a file for a lookup. ``decode=False`` computes the digests of its bytes only, never decoding it."""
    limits.check_bytes(len(data))
    if not decode:
        digests = compute_digests(data)
        return FileSignals({MD5: digests.md5, SHA1: digests.sha1, SHA256: digests.sha256})
    hashes = hash_untrusted(data, limits, dihedral=dihedral)
    good = hashes.pdq_quality >= MIN_PDQ_QUALITY
    return FileSignals({**hashes.signals(), PDQ: hashes.pdq if good else ""},
                       tuple(hashes.dihedral or ()) if good else ())
