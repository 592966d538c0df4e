"""What the vault records about bytes it preserves: digests, media type and EXIF.

EXIF is read from the container headers only; pixels are never decoded, so neither
a decompression bomb nor a malformed image can hurt preservation, which must never
fail because the evidence is odd. Anything unreadable simply yields no EXIF.
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

OCTET_STREAM = "application/octet-stream"
_MAX_BYTES_VALUE = 4096  # maker notes can be large and are opaque; keep a bounded prefix


@dataclass(frozen=True)
class Facts:
    sha256: str
    md5: str
    sha1: str
    size: int
    content_type: str = OCTET_STREAM
    exif: dict[str, Any] = field(default_factory=dict)


def examine(data: bytes) -> Facts:
    """Digests of `data`, plus its image type and EXIF when it is an image Pillow recognises."""
    content_type, exif = _image_facts(data)
    return Facts(
        sha256=hashlib.sha256(data).hexdigest(),
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        sha1=hashlib.sha1(data, usedforsecurity=False).hexdigest(),
        size=len(data),
        content_type=content_type,
        exif=exif,
    )


HEAD_BYTES = 64 * 1024
_VIDEO_TYPES = (  # a few container signatures, so a streamed video is labelled without being parsed
    (lambda h: h[4:8] == b"ftyp" and h[8:10] == b"qt", "video/quicktime"),
    (lambda h: h[4:8] == b"ftyp", "video/mp4"),
    (lambda h: h.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in h[:64], "video/webm"),
    (lambda h: h.startswith(b"\x1a\x45\xdf\xa3"), "video/x-matroska"),
    (lambda h: h[:4] == b"RIFF" and h[8:12] == b"AVI ", "video/x-msvideo"),
)


class Digester:
    """`examine` for bytes arriving in pieces: the digests as they pass, the type and EXIF from the head.

    Holds at most `HEAD_BYTES` of the content; image headers (and their EXIF) sit
    at the start of the file, and a video's container is recognised from its first bytes.
    """

    def __init__(self) -> None:
        self._sha256, self._sha1 = hashlib.sha256(), hashlib.sha1(usedforsecurity=False)
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._head = bytearray()
        self.size = 0

    def update(self, chunk: bytes) -> None:
        self._sha256.update(chunk)
        self._md5.update(chunk)
        self._sha1.update(chunk)
        if len(self._head) < HEAD_BYTES:
            self._head += chunk[:HEAD_BYTES - len(self._head)]
        self.size += len(chunk)

    def facts(self) -> Facts:
        head = bytes(self._head)
        content_type, exif = _image_facts(head)
        if content_type == OCTET_STREAM:
            content_type = next((kind for test, kind in _VIDEO_TYPES if test(head)), OCTET_STREAM)
        return Facts(sha256=self._sha256.hexdigest(), md5=self._md5.hexdigest(), sha1=self._sha1.hexdigest(),
                     size=self.size, content_type=content_type, exif=exif)


def _image_facts(data: bytes) -> tuple[str, dict[str, Any]]:
    from PIL import ExifTags, Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                content_type = Image.MIME.get(image.format or "", OCTET_STREAM)
                info: dict[str, Any] = {"format": image.format, "width": image.width, "height": image.height}
                exif = image.getexif()
                tags = {
                    "ifd0": _named(dict(exif), ExifTags.TAGS),
                    "exif": _named(exif.get_ifd(ExifTags.IFD.Exif), ExifTags.TAGS),
                    "gps": _named(exif.get_ifd(ExifTags.IFD.GPSInfo), ExifTags.GPSTAGS),
                }
    except Exception:  # not an image, or one Pillow cannot parse: preserve it anyway
        return OCTET_STREAM, {}
    return content_type, {"image": info, **{name: values for name, values in tags.items() if values}}


def _named(values: dict[int, Any], names: dict[int, str]) -> dict[str, Any]:
    pointers = {0x8769, 0x8825, 0xA005}  # sub-IFD offsets: read separately above
    return {names.get(tag, f"0x{tag:04x}"): _json_safe(value) for tag, value in values.items() if tag not in pointers}


def _json_safe(value: Any) -> Any:
    """EXIF values as JSON: rationals as floats, text without padding, binary as bounded hex."""
    if isinstance(value, bool | int | str):
        return value.rstrip("\x00") if isinstance(value, str) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bytes):
        text = value.rstrip(b"\x00")
        if text.isascii() and all(32 <= b < 127 or b in (9, 10, 13) for b in text):
            return text.decode("ascii")
        return {"hex": value[:_MAX_BYTES_VALUE].hex(), "length": len(value)}
    if isinstance(value, tuple | list):
        return [_json_safe(item) for item in value]
    if hasattr(value, "numerator") and hasattr(value, "denominator"):  # PIL's IFDRational
        return float(value.numerator) / float(value.denominator) if value.denominator else None
    return str(value)
