"""HttpPlatformConnector edge cases against an in-process httpx.MockTransport."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from bastion.platform import (
    HttpPlatformConnector,
    NotFoundOnPlatform,
    PlatformError,
    PlatformRejected,
    PlatformResponseInvalid,
    PlatformUnavailable,
    SignatureVerifier,
)
from bastion.platform.signing import SIGNATURE_HEADER

SECRET = "mock-secret"
NOW = 1_710_000_000.0
BASE = "https://platform.example/api"

Handler = Callable[[httpx.Request], httpx.Response]

ACCOUNT = {
    "account_id": "a1",
    "username": "u",
    "display_name": "U",
    "status": "active",
    "created_at": "2024-01-01T00:00:00Z",
}


def make(handler: Handler, **kwargs: Any) -> HttpPlatformConnector:
    client = httpx.Client(transport=httpx.MockTransport(handler))
    return HttpPlatformConnector(BASE, SECRET, client=client, clock=lambda: NOW, **kwargs)


def error(status: int, code: str = "some_code", message: str = "platform says no") -> Handler:
    body = {"error": {"code": code, "message": message}}
    return lambda request: httpx.Response(status, json=body, headers={"X-Request-Id": "req-1"})


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 425, 429])
def test_transient_statuses_are_unavailable(status: int) -> None:
    with pytest.raises(PlatformUnavailable) as info:
        make(error(status)).get_account("a1")
    assert info.value.status_code == status
    assert (info.value.code, info.value.message, info.value.request_id) == (
        "some_code",
        "platform says no",
        "req-1",
    )


@pytest.mark.parametrize("status", [400, 401, 403, 409, 410, 413, 422])
def test_permanent_statuses_are_rejected(status: int) -> None:
    with pytest.raises(PlatformRejected) as info:
        make(error(status)).get_account("a1")
    assert not isinstance(info.value, NotFoundOnPlatform)
    assert info.value.status_code == status
    assert info.value.message == "platform says no"
    assert "platform says no" in str(info.value)


def test_404_is_not_found_and_a_rejection() -> None:
    with pytest.raises(NotFoundOnPlatform) as info:
        make(error(404, "not_found")).get_account("a1")
    assert isinstance(info.value, PlatformRejected)


@pytest.mark.parametrize(("header", "expected"), [("7", 7.0), ("0", 0.0), ("soon", None)])
def test_retry_after_seconds(header: str, expected: float | None) -> None:
    handler: Handler = lambda request: httpx.Response(429, headers={"Retry-After": header})
    with pytest.raises(PlatformUnavailable) as info:
        make(handler).get_account("a1")
    assert info.value.retry_after == expected


def test_retry_after_http_date_uses_injected_clock() -> None:
    when = datetime.fromtimestamp(NOW + 120, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    handler: Handler = lambda request: httpx.Response(503, headers={"Retry-After": when})
    with pytest.raises(PlatformUnavailable) as info:
        make(handler).get_account("a1")
    assert info.value.retry_after == 120.0


def test_non_json_error_body_keeps_text() -> None:
    handler: Handler = lambda request: httpx.Response(502, text="<html>Bad gateway</html>")
    with pytest.raises(PlatformUnavailable) as info:
        make(handler).get_account("a1")
    assert "Bad gateway" in info.value.message
    assert info.value.code is None


@pytest.mark.parametrize(
    "exc",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("eof")],
)
def test_transport_errors_are_unavailable(exc: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    with pytest.raises(PlatformUnavailable):
        make(handler).remove_content("c1", "reason", "key-1")


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="not json"),
        httpx.Response(200, json=["a", "list"]),
        httpx.Response(200, json={**ACCOUNT, "status": "banished"}),
        httpx.Response(200, json={**ACCOUNT, "created_at": "2024-01-01T00:00:00"}),  # naive
        httpx.Response(200, json={"account_id": "a1"}),
    ],
)
def test_contract_violations_are_response_invalid(response: httpx.Response) -> None:
    with pytest.raises(PlatformResponseInvalid) as info:
        make(lambda request: response).get_account("a1")
    assert isinstance(info.value, PlatformError)
    assert not isinstance(info.value, (PlatformRejected, PlatformUnavailable))


def test_unknown_fields_are_ignored() -> None:
    account = make(lambda r: httpx.Response(200, json={**ACCOUNT, "new_field": 1})).get_account(
        "a1"
    )
    assert account.account_id == "a1"


def test_requests_are_signed_and_shaped_per_contract() -> None:
    seen: list[httpx.Request] = []
    verifier = SignatureVerifier(SECRET, clock=lambda: NOW)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        verifier.verify(
            request.method, request.url.raw_path.decode(), request.content, request.headers
        )
        return httpx.Response(
            200,
            json={
                "action_id": "act-1",
                "action": "restrict_account",
                "target_id": "a/1",
                "outcome": "applied",
                "status": "limited",
                "performed_at": "2024-03-01T00:00:00Z",
            },
            headers={"Idempotent-Replayed": "true"},
        )

    receipt = make(handler).restrict_account("a/1", "limit", "spam", "key:1")
    assert receipt.replayed
    [request] = seen
    assert request.method == "POST"
    assert request.url.raw_path == b"/api/v1/accounts/a%2F1/restrictions"  # id is one segment
    assert request.headers["Idempotency-Key"] == "key:1"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {"kind": "limit", "reason": "spam"}


def test_range_parameters_are_utc_rfc3339() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"items": [], "next_cursor": None})

    from datetime import timedelta, timezone

    since = datetime(2024, 3, 1, 1, 0, tzinfo=timezone(timedelta(hours=1)))
    assert make(handler).ip_logins("a1", since=since) == ()
    assert seen[0].params["since"] == "2024-03-01T00:00:00Z"
    assert "until" not in seen[0].params
    assert seen[0].params["limit"] == "100"


def _media_handler() -> tuple[Handler, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "platform.example":
            return httpx.Response(302, headers={"Location": "https://cdn.example/m/1?sig=abc"})
        return httpx.Response(200, content=b"\x89PNG-bytes", headers={"Content-Type": "image/png"})

    return handler, seen


def test_media_redirect_is_followed_without_bastion_headers() -> None:
    handler, seen = _media_handler()
    assert make(handler).fetch_media("c1") == b"\x89PNG-bytes"
    first, second = seen
    assert SIGNATURE_HEADER in first.headers
    assert str(second.url) == "https://cdn.example/m/1?sig=abc"
    assert not any(h.lower().startswith("x-bastion") for h in second.headers)


def test_media_redirect_loop_is_bounded() -> None:
    handler: Handler = lambda request: httpx.Response(302, headers={"Location": "/again"})
    with pytest.raises(PlatformRejected, match="redirects"):
        make(handler).fetch_media("c1")


def test_media_redirect_may_not_downgrade_from_https() -> None:
    handler: Handler = lambda request: httpx.Response(
        302, headers={"Location": "http://cdn.example/m/1"}
    )
    with pytest.raises(PlatformRejected, match="redirect"):
        make(handler).fetch_media("c1")


def test_media_size_is_capped() -> None:
    handler: Handler = lambda request: httpx.Response(200, content=b"x" * 1001)
    with pytest.raises(PlatformRejected) as info:
        make(handler, max_media_bytes=1000).fetch_media("c1")
    assert info.value.code == "media_too_large"
    assert make(handler, max_media_bytes=1001).fetch_media("c1") == b"x" * 1001


def test_repeated_cursor_is_a_contract_violation() -> None:
    handler: Handler = lambda request: httpx.Response(
        200, json={"items": [], "next_cursor": "same"}
    )
    with pytest.raises(PlatformResponseInvalid, match="cursor"):
        make(handler).devices("a1")


@pytest.mark.parametrize(
    "call",
    [
        lambda p: p.get_account(""),
        lambda p: p.remove_content("c1", "r", "bad key with spaces"),
        lambda p: p.remove_content("c1", "r", ""),
        lambda p: p.restrict_account("a1", "ban", "r", "k"),
    ],
)
def test_invalid_arguments_fail_before_the_network(
    call: Callable[[HttpPlatformConnector], Any],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    with pytest.raises(ValueError):
        call(make(handler))


def test_constructor_validation_and_client_ownership() -> None:
    with pytest.raises(ValueError):
        HttpPlatformConnector("platform.example", SECRET)
    with pytest.raises(ValueError):
        HttpPlatformConnector(BASE, "")
    shared = httpx.Client()
    with HttpPlatformConnector(BASE, SECRET, client=shared):
        pass
    assert not shared.is_closed  # caller-owned client survives
    shared.close()
    own = HttpPlatformConnector(BASE + "/", SECRET)
    assert own.base_url == BASE
    own.close()
