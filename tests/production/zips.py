"""Rewriting a package the way someone tampering with it would (valid ZIP, fixed CRCs)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable


def members(package: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rewrite(package: bytes, change: Callable[[dict[str, bytes]], None]) -> bytes:
    """The package with `change` applied to its {name: bytes}, re-zipped properly."""
    files = members(package)
    change(files)
    return zipped(files.items())


def zipped(items: object) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in items:  # type: ignore[attr-defined]
            archive.writestr(name, data)
    return buffer.getvalue()
