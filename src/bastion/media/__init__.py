"""Decode untrusted images safely and compute the hashes Bastion matches on.

Typical use::

    from bastion.media import hash_media, MediaError

    try:
        hashes = hash_media(upload_bytes)
    except MediaError as exc:
        reject(exc.code, exc.message)

Modules: :mod:`~bastion.media.decode` (hardened decoding),
:mod:`~bastion.media.formats` (allow-list), :mod:`~bastion.media.limits`,
:mod:`~bastion.media.pixels` (mode policy), :mod:`~bastion.media.pdq`,
:mod:`~bastion.media.pdq_linear` (PDQ's downsampling as matrices: exact
rotations, reduced-scale decoding),
:mod:`~bastion.media.digests`, :mod:`~bastion.media.signal_types`,
:mod:`~bastion.media.hashing`. This package imports nothing else from Bastion.
"""

from bastion.media.decode import (
    FAST_DECODE_SAMPLES_PER_WINDOW,
    DecodedImage,
    decode_image,
    fast_decode_scale,
)
from bastion.media.digests import Digests, compute_digests
from bastion.media.errors import (
    CorruptMedia,
    DecompressionBomb,
    InvalidHash,
    MediaError,
    MediaTooLarge,
    UnsupportedMedia,
)
from bastion.media.formats import SUPPORTED_FORMATS
from bastion.media.hashing import MediaHashes, hash_file, hash_media, read_capped
from bastion.media.limits import DEFAULT_LIMITS, DecodeLimits, apply_to_pillow
from bastion.media.pdq import (
    DIHEDRAL_VARIANTS,
    PDQ_MATCH_THRESHOLD,
    PdqDihedral,
    PdqHash,
    hamming_distance,
    pdq_array_to_hex,
    pdq_bytes_to_hex,
    pdq_dihedral,
    pdq_hash,
    pdq_reduced,
    pdq_hex_to_array,
    pdq_hex_to_bytes,
)
from bastion.media.signal_types import (
    HEX_LENGTHS,
    MD5,
    PDQ,
    SHA1,
    SHA256,
    validate_hash,
    validate_md5,
    validate_pdq,
    validate_sha1,
    validate_sha256,
)

__all__ = [
    "DEFAULT_LIMITS",
    "DIHEDRAL_VARIANTS",
    "FAST_DECODE_SAMPLES_PER_WINDOW",
    "HEX_LENGTHS",
    "MD5",
    "PDQ",
    "PDQ_MATCH_THRESHOLD",
    "SHA1",
    "SHA256",
    "SUPPORTED_FORMATS",
    "CorruptMedia",
    "DecodeLimits",
    "DecodedImage",
    "DecompressionBomb",
    "Digests",
    "InvalidHash",
    "MediaError",
    "MediaHashes",
    "MediaTooLarge",
    "PdqDihedral",
    "PdqHash",
    "UnsupportedMedia",
    "apply_to_pillow",
    "compute_digests",
    "decode_image",
    "fast_decode_scale",
    "hamming_distance",
    "hash_file",
    "hash_media",
    "pdq_array_to_hex",
    "pdq_bytes_to_hex",
    "pdq_dihedral",
    "pdq_hash",
    "pdq_hex_to_array",
    "pdq_hex_to_bytes",
    "pdq_reduced",
    "read_capped",
    "validate_hash",
    "validate_md5",
    "validate_pdq",
    "validate_sha1",
    "validate_sha256",
]
