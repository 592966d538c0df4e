"""HMAC-SHA256 request signing shared by Bastion and the platform.

Both directions use this module: Bastion signs its calls to the platform and
the platform signs the webhooks it sends to Bastion. The scheme (``v1``) is
specified in docs/platform-contract.md; in short::

    message   = timestamp "\\n" METHOD "\\n" request-target "\\n" idempotency-key "\\n" body
    signature = hex(HMAC-SHA256(secret, message))

    X-Bastion-Timestamp: <unix seconds>
    X-Bastion-Signature: v1=<signature>

Why these choices:

* The **request-target** (path *and* query, exactly as sent on the wire) is
  signed, so neither the resource nor a date range can be altered.
* The **Idempotency-Key** is signed, so a captured request cannot be replayed
  under a fresh key to make the platform act twice.
* Fields are joined with ``\\n``, which can occur in none of the header-borne
  fields (timestamp is digits, method a token, request-target has no
  whitespace, keys are restricted); the body goes last, so every message
  has exactly one parse. A ``.`` separator would be ambiguous, paths contain dots.
* The **timestamp** bounds replays to the tolerance window (default 300 s,
  either side, to absorb clock skew). Within the window a replay of a mutating
  call is harmless because the key makes it a no-op.
* Verification accepts several secrets (rotation) and several ``v1=``
  signatures in one header, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Callable, Mapping, Sequence

__all__ = [
    "DEFAULT_TOLERANCE_SECONDS",
    "IDEMPOTENCY_HEADER",
    "IDEMPOTENT_REPLAYED_HEADER",
    "SIGNATURE_HEADER",
    "SIGNATURE_SCHEME",
    "TIMESTAMP_HEADER",
    "Clock",
    "InvalidSignature",
    "MissingSignature",
    "RequestSigner",
    "Secret",
    "SignatureError",
    "SignatureVerifier",
    "StaleTimestamp",
    "canonical_request",
    "compute_signature",
    "derive_idempotency_key",
    "new_idempotency_key",
    "validate_idempotency_key",
]

SIGNATURE_HEADER = "X-Bastion-Signature"
TIMESTAMP_HEADER = "X-Bastion-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENT_REPLAYED_HEADER = "Idempotent-Replayed"
SIGNATURE_SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300

Clock = Callable[[], float]
"""Returns the current Unix time in seconds; injectable for tests."""

Secret = str | bytes
"""A shared secret; ``str`` secrets are UTF-8 encoded."""

_METHOD_RE = re.compile(r"[A-Z]{1,16}")
_TARGET_RE = re.compile(r"/[\x21-\x7e]*")  # visible ASCII, no spaces
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}")
_HEX_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_IDEMPOTENCY_KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,254}")
_MAX_SIGNATURES = 8


class SignatureError(Exception):
    """A request failed verification. ``code`` is the contract's error code."""

    code = "invalid_signature"


class MissingSignature(SignatureError):
    code = "missing_signature"


class InvalidSignature(SignatureError):
    code = "invalid_signature"


class StaleTimestamp(SignatureError):
    """Authentic, but signed outside the replay window (replay or clock skew)."""

    code = "stale_timestamp"


# -- primitives ---------------------------------------------------------------


def validate_idempotency_key(key: str) -> str:
    """Return ``key`` if it is a valid Idempotency-Key, else raise ``ValueError``.

    Keys are 1-255 characters of ``A-Z a-z 0-9 . _ : -``, starting with a
    letter or digit -- enough for UUIDs and readable keys such as
    ``takedown:case-42:post-7``, and never containing the signing separator.
    """
    if not isinstance(key, str) or not _IDEMPOTENCY_KEY_RE.fullmatch(key):
        raise ValueError(f"invalid idempotency key: {key!r}")
    return key


def new_idempotency_key() -> str:
    """A random key. Prefer :func:`derive_idempotency_key`: a random key
    generated at retry time defeats idempotency."""
    return uuid.uuid4().hex


def derive_idempotency_key(*parts: str) -> str:
    """A stable key from the caller's own durable identifiers.

    ``derive_idempotency_key("remove", case_id, content_id)`` yields the same
    key on every retry, in every process, so a retried takedown is applied once.
    """
    if not parts:
        raise ValueError("at least one part is required")
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return f"bk1-{digest[:48]}"


def _secret_bytes(secret: Secret) -> bytes:
    raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if not raw:
        raise ValueError("signing secret must not be empty")
    return raw


def canonical_request(
    *,
    timestamp: int,
    method: str,
    target: str,
    body: bytes = b"",
    idempotency_key: str | None = None,
) -> bytes:
    """The exact bytes that are MACed (see module docstring).

    ``target`` is the request-target: the percent-encoded path plus ``?query``
    when there is one, exactly as sent on the wire. Raises ``ValueError`` for
    inputs that would make the message ambiguous.
    """
    method = method.upper()
    if not _METHOD_RE.fullmatch(method):
        raise ValueError(f"invalid HTTP method: {method!r}")
    if not _TARGET_RE.fullmatch(target):
        raise ValueError(f"invalid request-target: {target!r}")
    if isinstance(timestamp, bool) or not isinstance(timestamp, int) or timestamp < 0:
        raise ValueError(f"invalid timestamp: {timestamp!r}")
    key = validate_idempotency_key(idempotency_key) if idempotency_key else ""
    head = f"{timestamp}\n{method}\n{target}\n{key}\n".encode("ascii")
    return head + body


def compute_signature(secret: Secret, message: bytes) -> str:
    """Lower-case hex HMAC-SHA256 of ``message``."""
    return hmac.new(_secret_bytes(secret), message, hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup that also works on a plain ``dict``."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


# -- signing ------------------------------------------------------------------


class RequestSigner:
    """Produces the authentication headers for one outgoing request.

    >>> signer = RequestSigner("s3cret", clock=lambda: 1_700_000_000)
    >>> signer.sign("GET", "/v1/accounts/acct-1")[TIMESTAMP_HEADER]
    '1700000000'
    """

    def __init__(self, secret: Secret, *, clock: Clock = time.time) -> None:
        self._secret = _secret_bytes(secret)
        self._clock = clock

    def sign(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        *,
        idempotency_key: str | None = None,
    ) -> dict[str, str]:
        """Headers to add to the request (including ``Idempotency-Key`` if given)."""
        timestamp = int(self._clock())
        message = canonical_request(
            timestamp=timestamp,
            method=method,
            target=target,
            body=body,
            idempotency_key=idempotency_key,
        )
        headers = {
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: f"{SIGNATURE_SCHEME}={compute_signature(self._secret, message)}",
        }
        if idempotency_key:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        return headers


# -- verification -------------------------------------------------------------


class SignatureVerifier:
    """Checks an incoming request's signature and replay window.

    Pass several secrets during a rotation (new first); a request signed with
    any of them is accepted.
    """

    def __init__(
        self,
        secrets: Secret | Sequence[Secret],
        *,
        tolerance: float = DEFAULT_TOLERANCE_SECONDS,
        clock: Clock = time.time,
    ) -> None:
        if isinstance(secrets, (str, bytes)):
            secrets = [secrets]
        self._secrets = tuple(_secret_bytes(s) for s in secrets)
        if not self._secrets:
            raise ValueError("at least one secret is required")
        if tolerance < 0:
            raise ValueError("tolerance must be >= 0")
        self.tolerance = tolerance
        self._clock = clock

    def verify(
        self,
        method: str,
        target: str,
        body: bytes,
        headers: Mapping[str, str],
    ) -> None:
        """Return normally if authentic and fresh; raise :class:`SignatureError` otherwise.

        The signature is checked before the timestamp, so ``stale_timestamp``
        is only ever reported for requests that were genuinely signed.
        """
        raw_timestamp = _header(headers, TIMESTAMP_HEADER)
        raw_signature = _header(headers, SIGNATURE_HEADER)
        if not raw_timestamp or not raw_signature:
            raise MissingSignature(f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required")
        raw_timestamp = raw_timestamp.strip()
        if not _TIMESTAMP_RE.fullmatch(raw_timestamp):
            raise InvalidSignature(f"malformed {TIMESTAMP_HEADER}")
        timestamp = int(raw_timestamp)

        key = _header(headers, IDEMPOTENCY_HEADER) or None
        try:
            message = canonical_request(
                timestamp=timestamp,
                method=method,
                target=target,
                body=body,
                idempotency_key=key,
            )
        except ValueError as exc:
            raise InvalidSignature(str(exc)) from None

        candidates = _parse_signature_header(raw_signature)
        if not candidates:
            raise InvalidSignature(f"no {SIGNATURE_SCHEME} signature in {SIGNATURE_HEADER}")
        if not self._matches(message, candidates):
            raise InvalidSignature("signature does not match")

        skew = abs(self._clock() - timestamp)
        if skew > self.tolerance:
            raise StaleTimestamp(
                f"timestamp is {skew:.0f}s from server time; tolerance is {self.tolerance:.0f}s"
            )

    def _matches(self, message: bytes, candidates: Sequence[bytes]) -> bool:
        matched = False
        for secret in self._secrets:
            expected = hmac.new(secret, message, hashlib.sha256).hexdigest().encode("ascii")
            for candidate in candidates:
                # No early exit: the work done must not depend on which pair matched.
                matched |= hmac.compare_digest(expected, candidate)
        return matched


def _parse_signature_header(value: str) -> list[bytes]:
    """Extract the ``v1`` hex digests; unknown schemes are ignored for forward compatibility."""
    found: list[bytes] = []
    for item in value.split(",")[:_MAX_SIGNATURES]:
        scheme, sep, digest = item.strip().partition("=")
        digest = digest.strip().lower()
        if sep and scheme == SIGNATURE_SCHEME and _HEX_SHA256_RE.fullmatch(digest):
            found.append(digest.encode("ascii"))
    return found
