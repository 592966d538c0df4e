"""The package format: file names, the manifest's shape, and its exact bytes.

Shared by the builder and the verifier so the two cannot drift apart.
"""

from __future__ import annotations

import json
import re
from typing import Any

FORMAT = "bastion-production-package"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
CERTIFICATE = "certificate.pdf"
DATA_DIR = "data/"
ATTACHMENTS_DIR = "attachments/"
#: The files that are not listed in the manifest: the manifest itself and its signature.
UNLISTED = frozenset({MANIFEST, SIGNATURE})

#: An attachment's name: up to four folder levels (e.g. "48213/media/c-1.png"), each segment starting
#: with a letter or digit, so no "..", no absolute path and no hidden file can be expressed.
ATTACHMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,127}(/[A-Za-z0-9][A-Za-z0-9._\-]{0,127}){0,3}")
MAX_NAME = 255


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The manifest as signed: sorted keys, two-space indent, UTF-8, final newline.

    The signature covers these exact bytes, so a verifier never re-serialises anything.
    """
    return (json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")
