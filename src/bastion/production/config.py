"""Where the instance's signing key lives, until Settings grows a production field.

    BASTION_PRODUCTION_SIGNING_KEY_FILE   the Ed25519 PEM (default <data_dir>/production-signing.pem)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ENV_SIGNING_KEY_FILE = "BASTION_PRODUCTION_SIGNING_KEY_FILE"


def signing_key_path(data_dir: Path, environ: Mapping[str, str] = os.environ) -> Path:
    return Path(environ.get(ENV_SIGNING_KEY_FILE) or Path(data_dir) / "production-signing.pem")
