"""Device tokens: proof that a browser has logged in to an account before.

A lockout that anyone can trigger is a denial-of-service lever: five wrong passwords from anywhere
would lock the admin out. So per-account locks apply only to unrecognised clients. A client is
recognised for an account if it presents a device token that Bastion signed for that account at a
successful login (second factor included). A recognised device has its own failure counter, so a
stolen token buys an attacker no more guesses than an unrecognised client gets.

Tokens are `user_id.device_id.issued.signature`, signed with HMAC-SHA-256 under a key derived from
the instance secret; the standard library's `hmac` is all this needs. One cookie holds the tokens of
the last few accounts that logged in from the browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

COOKIE = "bastion_device"
LIFETIME = timedelta(days=180)
MAX_TOKENS = 5
_SEPARATOR = "~"


def _key(instance_secret: bytes) -> bytes:
    return hashlib.sha256(b"bastion-device\x00" + instance_secret).digest()


def _sign(payload: str, instance_secret: bytes) -> str:
    mac = hmac.new(_key(instance_secret), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def issue(user_id: int, now: datetime, instance_secret: bytes) -> str:
    """A new token for `user_id` (a fresh device id each time)."""
    payload = f"{user_id}.{secrets.token_hex(8)}.{int(now.timestamp())}"
    return f"{payload}.{_sign(payload, instance_secret)}"


def recognised(cookie: str | None, now: datetime, instance_secret: bytes) -> dict[int, str]:
    """Valid tokens in a cookie value, as user id -> device id; forged or expired ones are ignored."""
    found: dict[int, str] = {}
    for token in (cookie or "").split(_SEPARATOR)[:MAX_TOKENS]:
        parts = token.split(".")
        if len(parts) != 4 or not all(parts):
            continue
        payload = ".".join(parts[:3])
        if not hmac.compare_digest(parts[3], _sign(payload, instance_secret)):
            continue
        try:
            user_id, issued = int(parts[0]), int(parts[2])
        except ValueError:
            continue
        if now.timestamp() - issued <= LIFETIME.total_seconds():
            found[user_id] = parts[1]
    return found


def remember(cookie: str | None, token: str, user_id: int) -> str:
    """The cookie value with `token` first, replacing the account's older token, keeping at most a few."""
    others = [t for t in (cookie or "").split(_SEPARATOR) if t and not t.startswith(f"{user_id}.")]
    return _SEPARATOR.join([token, *others][:MAX_TOKENS])
