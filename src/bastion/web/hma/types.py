"""HMA's signal types and content types, mapped onto Bastion's.

HMA names a signal type by what it hashes; Bastion stores ``pdq``, ``md5``, ``sha1``,
``sha256`` (of photos) and ``vpdq`` (python-threatexchange's video signal, the same name
and string). HMA's ``video_md5`` is the MD5 of a video file's bytes, which Bastion stores
as ``md5``; an entry added as video keeps the provenance ``source = "hma:video"`` so it is
reported back as ``video_md5``.

Validation follows python-threatexchange, including its error texts: PDQ must be
exactly 64 lower-case hex characters (no normalising), the digest types strip and
lower-case first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException

from bastion.media import MD5, PDQ, SHA1, SHA256
from bastion.media.video import VPDQ, signal_to_features

PHOTO, VIDEO = "photo", "video"
VIDEO_MD5 = "video_md5"
VIDEO_SOURCE = "hma:video"
PHOTO_SOURCE = "hma"
PDQ_MATCH_THRESHOLD = 31


@dataclass(frozen=True)
class SignalType:
    name: str  # HMA's name
    stored_as: str  # Bastion's signal type
    content_type: str
    hex_length: int
    label: str  # as python-threatexchange names it in error texts

    @property
    def exact(self) -> bool:
        return self.name not in (PDQ, VPDQ)

    def validate(self, value: Any) -> str:
        """The canonical value, or ValueError with python-threatexchange's reason."""
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a string")  # noqa: TRY004 (callers report ValueErrors)
        if self.name == VPDQ:  # python-threatexchange keeps the string as sent once its frames parse
            signal_to_features(value)
            return value
        if self.name == PDQ:
            if not re.fullmatch(r"[0-9a-f]{64}", value):
                raise ValueError("invalid PDQ hash")
            return value
        normalised = value.strip().lower()
        if not re.fullmatch(f"[0-9a-f]{{{self.hex_length}}}", normalised):
            raise ValueError(f"{value!r} is not a valid {self.label} hash")
        return normalised


SIGNAL_TYPES: dict[str, SignalType] = {
    st.name: st
    for st in (
        SignalType(PDQ, PDQ, PHOTO, 64, "PDQ"),
        SignalType(VIDEO_MD5, MD5, VIDEO, 32, "MD5"),
        SignalType(MD5, MD5, PHOTO, 32, "MD5"),
        SignalType(SHA1, SHA1, PHOTO, 40, "SHA1"),
        SignalType(SHA256, SHA256, PHOTO, 64, "SHA256"),
        SignalType(VPDQ, VPDQ, VIDEO, 0, "VPDQ"),
    )
}
CONTENT_TYPES: dict[str, tuple[str, ...]] = {
    content: tuple(n for n, st in SIGNAL_TYPES.items() if st.content_type == content) for content in (PHOTO, VIDEO)
}

def signal_type(name: str) -> SignalType:
    """A signal type by HMA name, as the matcher checks it (400 otherwise).

    Every type is always enabled: HMA counts a type as enabled when its ratio is >= 0.
    """
    st = SIGNAL_TYPES.get(name)
    if st is None:
        raise HTTPException(400, f"No such SignalType '{name}'")
    return st


def content_type(name: str) -> str:
    if name not in CONTENT_TYPES:
        raise HTTPException(400, f"no such content_type: '{name}'")
    return name


def content_type_from_mime(mime: str) -> str:
    lowered = mime.lower()
    if lowered.startswith("image"):
        return PHOTO
    if lowered.startswith("video"):
        return VIDEO
    raise HTTPException(400, f"unsupported url ContentType: '{mime}', "
                             "if you know the expected type, provide it with the content_type query param")


def select_types(content: str, types_arg: str | None) -> list[str]:
    """The signal types to produce for `content`, restricted by the `types` query parameter.

    Without `types`, every type of the content type, as HMA answers (a video: `video_md5` and `vpdq`;
    strict mode keeps only the types it offers, `bastion.web.hma.dialect`).
    """
    if types_arg is None:
        return list(CONTENT_TYPES[content])
    available = CONTENT_TYPES[content]
    chosen: list[str] = []
    for raw in types_arg.split(","):
        name = raw.strip()
        if not name:
            continue
        if name not in available:
            raise HTTPException(400, f"signal type '{name}' doesn't exist or is disabled")
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise HTTPException(400, "empty signal type selection")
    return chosen


def reported_signals(stored: dict[str, str], source: str) -> dict[str, str]:
    """An entry's stored signals under HMA's names (md5 of a video is `video_md5`)."""
    if source != VIDEO_SOURCE:
        return dict(stored)
    return {(VIDEO_MD5 if kind == MD5 else kind): value for kind, value in stored.items()}


def ratios(services: dict[str, Any]) -> dict[str, float]:
    """Per-signal-type `enabled_ratio`, kept in memory on the app (see the package docstring)."""
    return services.setdefault("hma_signal_ratios", {name: 1.0 for name in SIGNAL_TYPES})
