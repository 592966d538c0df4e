"""Unit tests for bastion.platform.signing (no network)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bastion.platform import signing
from bastion.platform.signing import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidSignature,
    MissingSignature,
    RequestSigner,
    SignatureVerifier,
    StaleTimestamp,
    canonical_request,
    compute_signature,
    derive_idempotency_key,
    new_idempotency_key,
    validate_idempotency_key,
)

SECRET = "unit-test-secret"
T0 = 1_700_000_000
METHOD = "POST"
TARGET = "/v1/content/post-1/removal"
BODY = b'{"reason":"hash_match"}'
KEY = "takedown:case-1:post-1"


def signed(
    *,
    secret: str = SECRET,
    at: int = T0,
    method: str = METHOD,
    target: str = TARGET,
    body: bytes = BODY,
    key: str | None = KEY,
) -> dict[str, str]:
    return RequestSigner(secret, clock=lambda: at).sign(method, target, body, idempotency_key=key)


def verifier(now: float = T0, **kwargs: object) -> SignatureVerifier:
    return SignatureVerifier(SECRET, clock=lambda: now, **kwargs)  # type: ignore[arg-type]


def test_round_trip() -> None:
    headers = signed()
    assert headers[TIMESTAMP_HEADER] == str(T0)
    assert re.fullmatch(r"v1=[0-9a-f]{64}", headers[SIGNATURE_HEADER])
    assert headers[IDEMPOTENCY_HEADER] == KEY
    verifier().verify(METHOD, TARGET, BODY, headers)


def test_get_without_body_or_key() -> None:
    headers = signed(method="GET", target="/v1/accounts/a?since=x", body=b"", key=None)
    assert IDEMPOTENCY_HEADER not in headers
    verifier().verify("GET", "/v1/accounts/a?since=x", b"", headers)


@pytest.mark.parametrize(
    ("method", "target", "body"),
    [
        (METHOD, TARGET, b'{"reason":"other"}'),  # tampered body
        (METHOD, TARGET, BODY + b" "),  # even whitespace
        (METHOD, "/v1/content/post-2/removal", BODY),  # tampered path
        (METHOD, TARGET + "?x=1", BODY),  # added query
        ("PUT", TARGET, BODY),  # tampered method
    ],
)
def test_tampering_is_detected(method: str, target: str, body: bytes) -> None:
    with pytest.raises(InvalidSignature):
        verifier().verify(method, target, body, signed())


def test_tampered_query_is_detected() -> None:
    target = "/v1/accounts/a/logins?since=2024-03-01T00%3A00%3A00Z"
    headers = signed(method="GET", target=target, body=b"", key=None)
    with pytest.raises(InvalidSignature):
        verifier().verify("GET", target.replace("03-01", "01-01"), b"", headers)


def test_idempotency_key_is_signed() -> None:
    headers = signed()
    swapped = {**headers, IDEMPOTENCY_HEADER: "another-key"}
    with pytest.raises(InvalidSignature):
        verifier().verify(METHOD, TARGET, BODY, swapped)
    dropped = {k: v for k, v in headers.items() if k != IDEMPOTENCY_HEADER}
    with pytest.raises(InvalidSignature):
        verifier().verify(METHOD, TARGET, BODY, dropped)


def test_wrong_secret() -> None:
    with pytest.raises(InvalidSignature):
        verifier().verify(METHOD, TARGET, BODY, signed(secret="not-the-secret"))


@pytest.mark.parametrize("missing", [TIMESTAMP_HEADER, SIGNATURE_HEADER])
def test_missing_headers(missing: str) -> None:
    headers = {k: v for k, v in signed().items() if k != missing}
    with pytest.raises(MissingSignature) as info:
        verifier().verify(METHOD, TARGET, BODY, headers)
    assert info.value.code == "missing_signature"


@pytest.mark.parametrize("timestamp", ["", "abc", "-5", "1.5", "1" * 13])
def test_malformed_timestamp(timestamp: str) -> None:
    headers = {**signed(), TIMESTAMP_HEADER: timestamp}
    with pytest.raises((InvalidSignature, MissingSignature)):
        verifier().verify(METHOD, TARGET, BODY, headers)


@pytest.mark.parametrize("value", ["", "v1=", "v1=xyz", "v2=" + "a" * 64, "sha256=" + "a" * 64])
def test_malformed_signature_header(value: str) -> None:
    headers = {**signed(), SIGNATURE_HEADER: value}
    with pytest.raises((InvalidSignature, MissingSignature)):
        verifier().verify(METHOD, TARGET, BODY, headers)


def test_non_ascii_signature_header_is_rejected_not_crashing() -> None:
    headers = {**signed(), SIGNATURE_HEADER: "v1=" + "é" * 64}
    with pytest.raises(InvalidSignature):
        verifier().verify(METHOD, TARGET, BODY, headers)


@pytest.mark.parametrize(
    ("offset", "ok"),
    [(0, True), (300, True), (301, False), (-300, True), (-301, False), (10_000, False)],
)
def test_replay_window_edges(offset: int, ok: bool) -> None:
    """Server time = signing time + offset; the window is symmetric and inclusive."""
    check = verifier(now=T0 + offset)
    if ok:
        check.verify(METHOD, TARGET, BODY, signed())
    else:
        with pytest.raises(StaleTimestamp) as info:
            check.verify(METHOD, TARGET, BODY, signed())
        assert info.value.code == "stale_timestamp"


def test_fractional_clock_just_outside_window() -> None:
    with pytest.raises(StaleTimestamp):
        verifier(now=T0 + 300.5).verify(METHOD, TARGET, BODY, signed())


def test_custom_tolerance() -> None:
    check = verifier(now=T0 + 31, tolerance=30)
    with pytest.raises(StaleTimestamp):
        check.verify(METHOD, TARGET, BODY, signed())
    verifier(now=T0 + 30, tolerance=30).verify(METHOD, TARGET, BODY, signed())


def test_forged_and_stale_reports_invalid_signature_not_stale() -> None:
    """Freshness is only judged for authentic requests."""
    with pytest.raises(InvalidSignature):
        verifier(now=T0 + 10_000).verify(METHOD, TARGET, BODY, signed(secret="forged"))


def test_secret_rotation_accepts_any_configured_secret() -> None:
    rotating = SignatureVerifier(["new-secret", SECRET], clock=lambda: T0)
    rotating.verify(METHOD, TARGET, BODY, signed(secret=SECRET))
    rotating.verify(METHOD, TARGET, BODY, signed(secret="new-secret"))
    with pytest.raises(InvalidSignature):
        rotating.verify(METHOD, TARGET, BODY, signed(secret="retired-secret"))


def test_multiple_signatures_in_header() -> None:
    good = signed()[SIGNATURE_HEADER]
    header = f"v1={'0' * 64}, v2=whatever,{good}"
    verifier().verify(METHOD, TARGET, BODY, {**signed(), SIGNATURE_HEADER: header})


def test_header_lookup_is_case_insensitive() -> None:
    lowered = {k.lower(): v for k, v in signed().items()}
    verifier().verify(METHOD, TARGET, BODY, lowered)


def test_uses_constant_time_comparison(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = signing.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signing.hmac, "compare_digest", spy)
    verifier().verify(METHOD, TARGET, BODY, signed())
    assert calls


def test_canonical_request_layout() -> None:
    message = canonical_request(
        timestamp=1, method="post", target="/p?q=1", body=b"{}", idempotency_key="k"
    )
    assert message == b"1\nPOST\n/p?q=1\nk\n{}"
    assert canonical_request(timestamp=1, method="GET", target="/p") == b"1\nGET\n/p\n\n"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"target": "relative/path"},
        {"target": "/with space"},
        {"target": "/with\nnewline"},
        {"method": "GE T"},
        {"idempotency_key": "bad key"},
        {"idempotency_key": "bad\nkey"},
        {"timestamp": -1},
    ],
)
def test_canonical_request_rejects_ambiguous_input(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"timestamp": 1, "method": "GET", "target": "/p", **kwargs}
    with pytest.raises(ValueError):
        canonical_request(**args)  # type: ignore[arg-type]


def test_idempotency_keys() -> None:
    assert validate_idempotency_key(new_idempotency_key())
    derived = derive_idempotency_key("remove", "case 42", "post/7")
    assert derived == derive_idempotency_key("remove", "case 42", "post/7")
    assert derived != derive_idempotency_key("remove", "case 42", "post/8")
    assert validate_idempotency_key(derived) == derived
    for bad in ["", "-leading-dash", "x" * 256, "has space", "ünïcode"]:
        with pytest.raises(ValueError):
            validate_idempotency_key(bad)


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        RequestSigner("")
    with pytest.raises(ValueError):
        SignatureVerifier([])


def test_worked_example_in_contract_doc_is_correct() -> None:
    """docs/platform-contract.md quotes these exact signatures; keep them true."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "platform-contract.md").read_text()
    post = compute_signature(
        "demo-secret-do-not-use",
        canonical_request(
            timestamp=1709283600,
            method="POST",
            target="/v1/content/post-2001/removal",
            body=b'{"reason":"hash_match"}',
            idempotency_key="takedown:case-42:post-2001",
        ),
    )
    get = compute_signature(
        "demo-secret-do-not-use",
        canonical_request(
            timestamp=1709283600,
            method="GET",
            target="/v1/accounts/acct-1001/logins"
            "?since=2024-03-01T00%3A00%3A00Z&until=2024-03-06T00%3A00%3A00Z&limit=100",
        ),
    )
    assert f"X-Bastion-Signature: v1={post}" in doc
    assert f"X-Bastion-Signature: v1={get}" in doc
