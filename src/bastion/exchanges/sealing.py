"""Exchange credentials, encrypted at rest with a key derived from the instance secret.

Credentials are a small JSON object (`{"user": ..., "password": ...}`, `{"token": ...}`).
They are decrypted only to build a client for a fetch; no function here returns them to
a person, and `redact` removes their values from any text (error messages) before that
text is stored, logged or shown.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any
from urllib.parse import quote, quote_plus

from cryptography.fernet import Fernet, InvalidToken

from bastion.errors import BastionError


class CredentialsUnreadable(BastionError):
    code = "exchange_credentials_unreadable"
    status = 409


def _fernet(instance_secret: bytes) -> Fernet:
    key = hashlib.sha256(b"bastion-exchange-credentials\x00" + instance_secret).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(credentials: dict[str, Any], instance_secret: bytes) -> str:
    """Ciphertext of `credentials` (empty string for none)."""
    if not credentials:
        return ""
    return _fernet(instance_secret).encrypt(json.dumps(credentials, sort_keys=True).encode()).decode()


def unseal(token: str, instance_secret: bytes) -> dict[str, Any]:
    if not token:
        return {}
    try:
        value = json.loads(_fernet(instance_secret).decrypt(token.encode()))
    except InvalidToken:
        raise CredentialsUnreadable(
            "The exchange's credentials cannot be decrypted; was BASTION_SECRET_KEY changed? "
            "Enter the credentials again (`bastion exchanges credentials NAME`)."
        ) from None
    return value if isinstance(value, dict) else {}


def redact(text: str, credentials: dict[str, Any]) -> str:
    """`text` with every credential value (of 4 characters or more) replaced by `***`."""
    for value in credentials.values():
        if isinstance(value, str) and len(value) >= 4:  # as typed, and as a URL carries it (a Graph API token)
            for form in {value, quote(value, safe=""), quote_plus(value, safe="")}:
                text = text.replace(form, "***")
    return text
