"""Fuzz targets: each takes untrusted bytes and must either succeed or raise one of its typed errors.

Anything else (an uncaught exception type, a crash, a hang past the budget) is a bug: it would
reach a client as a 500 or take a worker down. The targets are the doors where outside bytes
enter: uploaded images, CyberTipline XML (replies and documents posted to the stand-in), and
hash lists imported into banks.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from bastion.banks import transfer
from bastion.errors import BastionError
from bastion.media import DecodeLimits, MediaError, hash_media
from bastion.ncmec.errors import MalformedXmlError, NcmecProtocolError
from bastion.ncmec.xml import parse_reply, parse_untrusted

#: Small limits: the fuzzer explores formats, not how long a big picture takes to decode.
LIMITS = DecodeLimits(max_bytes=1 << 20, max_pixels=1 << 20)


def media(data: bytes) -> None:
    """Uploaded images: decode, PDQ with its eight variants, digests."""
    try:
        hash_media(data, LIMITS, dihedral=True)
    except MediaError:
        pass


def ncmec_xml(data: bytes) -> None:
    """Untrusted XML both ways it is read: lxml (documents) and defusedxml (replies)."""
    try:
        parse_untrusted(data)
    except MalformedXmlError:
        pass
    try:
        parse_reply(data)
    except NcmecProtocolError:
        pass


def hash_list(data: bytes) -> None:
    """Hash lists in both formats, decoded as the importer decodes files (bad bytes replaced)."""
    text = data.decode("utf-8", errors="replace")
    for fmt in transfer.FORMATS:
        try:
            for _ in transfer.parse(io.StringIO(text, newline=""), fmt):
                pass
        except BastionError:
            pass


TARGETS: dict[str, Callable[[bytes], None]] = {"media": media, "ncmec_xml": ncmec_xml, "hash_list": hash_list}
