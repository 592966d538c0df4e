"""TOTP second factor (RFC 6238 via pyotp), secrets encrypted at rest.

The secret is encrypted with a key derived from the instance secret, so a copy of the
database alone does not yield second factors. Each accepted time step is remembered
so a code cannot be replayed.
"""

from __future__ import annotations

import base64
import hashlib
import io

import pyotp
import qrcode
import qrcode.image.svg
from cryptography.fernet import Fernet, InvalidToken

ISSUER = "Bastion"


class TotpSecretUnreadable(RuntimeError):
    """The stored secret cannot be decrypted: the instance secret key changed."""


def _fernet(instance_secret: bytes) -> Fernet:
    key = hashlib.sha256(b"bastion-totp\x00" + instance_secret).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def new_secret() -> str:
    return pyotp.random_base32()


def encrypt_secret(secret: str, instance_secret: bytes) -> str:
    return _fernet(instance_secret).encrypt(secret.encode()).decode()


def decrypt_secret(token: str, instance_secret: bytes) -> str:
    try:
        return _fernet(instance_secret).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise TotpSecretUnreadable(
            "The second-factor secret cannot be decrypted; was BASTION_SECRET_KEY changed? "
            "An admin can reset the user's second factor."
        ) from exc


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code (no image library, no JavaScript)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def accepted_step(secret: str, code: str, at_timestamp: float, last_step: int) -> int | None:
    """The time step `code` is valid for (allowing one step of drift), or None.

    A step at or before `last_step` is refused: that code was already used.
    """
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int(at_timestamp // totp.interval)
    for step in (current, current - 1, current + 1):
        if step > last_step and pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None
