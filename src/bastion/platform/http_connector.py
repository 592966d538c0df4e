"""`PlatformConnector` over the REST contract in docs/platform-contract.md.

>>> key = derive_idempotency_key("remove", "case-42", "post-7")
>>> with HttpPlatformConnector("https://platform.example/bastion", secret) as platform:
...     receipt = platform.remove_content("post-7", "hash_match", key)

Every request is signed (:class:`SigningAuth`); every failure surfaces as a
:mod:`bastion.platform.errors` type. The connector never retries by itself:
the caller owns the retry policy (backoff, job queue) and retries mutating
calls with the same idempotency key.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Generator, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from bastion.platform.errors import (
    NotFoundOnPlatform,
    PlatformError,
    PlatformRejected,
    PlatformResponseInvalid,
    PlatformUnavailable,
)
from bastion.platform.models import (
    Account,
    AccountMatch,
    AccountNotice,
    ActionResult,
    Content,
    Device,
    HostingDetails,
    Location,
    LoginEvent,
    LookupKind,
    PreservationSnapshot,
    RestrictionKind,
    SubscriberInfo,
)
from bastion.platform.signing import (
    IDEMPOTENCY_HEADER,
    IDEMPOTENT_REPLAYED_HEADER,
    Clock,
    RequestSigner,
    Secret,
    validate_idempotency_key,
)

__all__ = ["HttpPlatformConnector", "SigningAuth"]

_M = TypeVar("_M", bound=BaseModel)

USER_AGENT = "bastion-platform-connector/1"
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_MEDIA_BYTES = 64 * 1024 * 1024
DEFAULT_PAGE_SIZE = 100
_MAX_PAGES = 10_000
_MAX_MEDIA_REDIRECTS = 3
_RETRYABLE_4XX = frozenset({408, 425, 429})
_RESTRICTION_KINDS = frozenset({"suspend", "limit"})
_LOOKUP_KINDS = frozenset({"username", "email", "phone"})
_MAX_LOOKUP_VALUE = 320


class SigningAuth(httpx.Auth):
    """httpx auth flow adding the ``v1`` signature headers to each request.

    Usable on any ``httpx.Client`` (e.g. for the demo platform's admin API).
    It signs whatever ``Idempotency-Key`` header the request already carries.
    """

    requires_request_body = True

    def __init__(self, secret: Secret, *, clock: Clock = time.time) -> None:
        self._signer = RequestSigner(secret, clock=clock)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        headers = self._signer.sign(
            request.method,
            request.url.raw_path.decode("ascii"),
            request.content,
            idempotency_key=request.headers.get(IDEMPOTENCY_HEADER),
        )
        request.headers.update(headers)
        yield request


class HttpPlatformConnector:
    """A :class:`~bastion.platform.connector.PlatformConnector` speaking HTTP.

    ``base_url`` is the platform's API root; contract paths (``/v1/...``) are
    appended to it. Pass ``client`` to share a connection pool or inject a
    transport in tests; a client passed in is not closed by :meth:`close`.
    ``timeout`` applies only to a client the connector creates itself.
    """

    def __init__(
        self,
        base_url: str,
        secret: Secret,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
        *,
        clock: Clock = time.time,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES,
    ) -> None:
        url = httpx.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"base_url must be an absolute http(s) URL: {base_url!r}")
        if not 1 <= page_size <= 500:
            raise ValueError("page_size must be between 1 and 500")
        self.base_url = str(url).rstrip("/")
        self._auth = SigningAuth(secret, clock=clock)
        self._clock = clock
        self._page_size = page_size
        self._max_media_bytes = max_media_bytes
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)

    # -- lifecycle ----------------------------------------------------------

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    # -- moderation ---------------------------------------------------------

    def get_account(self, account_id: str) -> Account:
        return self._get_one(Account, "accounts", account_id)

    def get_content(self, content_id: str) -> Content:
        return self._get_one(Content, "content", content_id)

    def fetch_media(self, content_id: str) -> bytes:
        """Download the media, following up to 3 redirects to pre-signed URLs.

        Redirect hops are fetched *without* Bastion's headers: a CDN must not
        receive them, and the signature would not be valid there anyway.
        """
        request = self._build("GET", self._url("content", content_id, "media"), accept="*/*")
        auth: httpx.Auth | None = self._auth
        for _ in range(_MAX_MEDIA_REDIRECTS + 1):
            response = self._send(request, auth=auth, stream=True)
            try:
                if response.is_redirect and "location" in response.headers:
                    location = response.url.join(response.headers["location"])
                    if location.scheme != "https" and response.url.scheme == "https":
                        raise PlatformRejected(f"refusing media redirect to {location.scheme}:")
                    request = self._build("GET", str(location), accept="*/*")
                    auth = None
                    continue
                self._raise_for_status(response)
                return self._read_capped(response)
            finally:
                response.close()
        raise PlatformRejected(f"more than {_MAX_MEDIA_REDIRECTS} redirects fetching media")

    def remove_content(self, content_id: str, reason: str, idempotency_key: str) -> ActionResult:
        return self._act(
            self._url("content", content_id, "removal"),
            {"reason": reason},
            idempotency_key,
        )

    def restrict_account(
        self,
        account_id: str,
        kind: RestrictionKind,
        reason: str,
        idempotency_key: str,
    ) -> ActionResult:
        if kind not in _RESTRICTION_KINDS:
            raise ValueError(f"kind must be 'suspend' or 'limit', not {kind!r}")
        return self._act(
            self._url("accounts", account_id, "restrictions"),
            {"kind": kind, "reason": reason},
            idempotency_key,
        )

    def restore_content(self, content_id: str, reason: str, idempotency_key: str) -> ActionResult:
        return self._act(self._url("content", content_id, "restoration"), {"reason": reason}, idempotency_key)

    def lift_restriction(self, account_id: str, reason: str, idempotency_key: str) -> ActionResult:
        return self._act(self._url("accounts", account_id, "reinstatement"), {"reason": reason}, idempotency_key)

    def notify_account(self, account_id: str, notice: AccountNotice, idempotency_key: str) -> ActionResult:
        return self._act(self._url("accounts", account_id, "notices"), notice.model_dump(mode="json"),
                         idempotency_key)

    # -- data collection ----------------------------------------------------

    def lookup_accounts(self, kind: LookupKind, value: str) -> tuple[AccountMatch, ...]:
        """``POST /v1/accounts/lookup``: a read sent as a POST so emails and phone numbers
        stay out of URLs (and so out of proxy and access logs); no idempotency key."""
        if kind not in _LOOKUP_KINDS:
            raise ValueError(f"kind must be username, email or phone, not {kind!r}")
        if not isinstance(value, str) or not value.strip() or len(value) > _MAX_LOOKUP_VALUE:
            raise ValueError(f"value must be 1 to {_MAX_LOOKUP_VALUE} characters")
        body = json.dumps({"kind": kind, "value": value.strip()}, separators=(",", ":"), sort_keys=True).encode()
        page = _json(self._call(self._build("POST", self._url("accounts", "lookup"), body=body)))
        if not isinstance(page, dict) or not isinstance(page.get("items"), list):
            raise PlatformResponseInvalid("lookup response must be {items: [...]}")
        return tuple(_parse(AccountMatch, item) for item in page["items"])

    def subscriber_info(self, account_id: str) -> SubscriberInfo:
        return self._get_one(SubscriberInfo, "accounts", account_id, "subscriber")

    def posts(
        self,
        account_id: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[Content, ...]:
        return self._list(Content, self._url("accounts", account_id, "posts"), _range(since, until))

    def ip_logins(
        self,
        account_id: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[LoginEvent, ...]:
        return self._list(
            LoginEvent, self._url("accounts", account_id, "logins"), _range(since, until)
        )

    def devices(self, account_id: str) -> tuple[Device, ...]:
        return self._list(Device, self._url("accounts", account_id, "devices"), {})

    def locations(
        self,
        account_id: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> tuple[Location, ...]:
        return self._list(
            Location, self._url("accounts", account_id, "locations"), _range(since, until)
        )

    def hosting_details(self, content_id: str) -> HostingDetails:
        return self._get_one(HostingDetails, "content", content_id, "hosting")

    def preserve_account(self, account_id: str, idempotency_key: str) -> PreservationSnapshot:
        response = self._post(
            self._url("accounts", account_id, "preservations"), {}, idempotency_key
        )
        return _parse(PreservationSnapshot, _json(response), replayed=_replayed(response))

    # -- plumbing -----------------------------------------------------------

    def _url(self, *segments: str) -> str:
        for segment in segments:
            if not isinstance(segment, str) or not segment:
                raise ValueError(f"ids must be non-empty strings, got {segment!r}")
        return "/".join([self.base_url, "v1", *(quote(s, safe="") for s in segments)])

    def _build(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        idempotency_key: str | None = None,
        accept: str = "application/json",
    ) -> httpx.Request:
        headers = {"Accept": accept, "User-Agent": USER_AGENT}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers[IDEMPOTENCY_HEADER] = idempotency_key
        return self._client.build_request(method, url, params=params, content=body, headers=headers)

    def _send(
        self, request: httpx.Request, *, auth: httpx.Auth | None, stream: bool = False
    ) -> httpx.Response:
        try:
            return self._client.send(request, auth=auth, stream=stream, follow_redirects=False)
        except httpx.TransportError as exc:  # connect/read errors, timeouts
            raise PlatformUnavailable(
                f"{request.method} {request.url.path}: {type(exc).__name__}: {exc}"
            ) from exc
        except httpx.HTTPError as exc:
            raise PlatformError(f"{request.method} {request.url.path}: {exc}") from exc

    def _call(self, request: httpx.Request) -> httpx.Response:
        response = self._send(request, auth=self._auth)
        self._raise_for_status(response)
        return response

    def _get_one(self, model: type[_M], *segments: str) -> _M:
        return _parse(model, _json(self._call(self._build("GET", self._url(*segments)))))

    def _post(self, url: str, payload: dict[str, Any], idempotency_key: str) -> httpx.Response:
        validate_idempotency_key(idempotency_key)
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
        return self._call(self._build("POST", url, body=body, idempotency_key=idempotency_key))

    def _act(self, url: str, payload: dict[str, Any], idempotency_key: str) -> ActionResult:
        response = self._post(url, payload, idempotency_key)
        return _parse(ActionResult, _json(response), replayed=_replayed(response))

    def _list(self, model: type[_M], url: str, params: dict[str, str]) -> tuple[_M, ...]:
        """Follow ``next_cursor`` until the platform reports the last page."""
        items: list[_M] = []
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            page_params = {**params, "limit": str(self._page_size)}
            if cursor is not None:
                page_params["cursor"] = cursor
            page = _json(self._call(self._build("GET", url, params=page_params)))
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise PlatformResponseInvalid("list response must be {items: [...], next_cursor}")
            items.extend(_parse(model, item) for item in page["items"])
            cursor = page.get("next_cursor")
            if cursor is None:
                return tuple(items)
            if not isinstance(cursor, str) or cursor in seen:
                raise PlatformResponseInvalid(f"invalid or repeated next_cursor: {cursor!r}")
            seen.add(cursor)
        raise PlatformResponseInvalid(f"more than {_MAX_PAGES} pages")

    def _read_capped(self, response: httpx.Response) -> bytes:
        """Read a streamed body, refusing media larger than ``max_media_bytes``."""
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self._max_media_bytes:
                    raise PlatformRejected(
                        f"media exceeds max_media_bytes={self._max_media_bytes}",
                        status_code=response.status_code,
                        code="media_too_large",
                    )
                chunks.append(chunk)
        except httpx.TransportError as exc:
            raise PlatformUnavailable(f"media download interrupted: {exc}") from exc
        return b"".join(chunks)

    def _raise_for_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        if not response.is_closed:
            response.read()
        code, message = _error_details(response)
        request_id = response.headers.get("x-request-id")
        context = dict(status_code=status, code=code, request_id=request_id)
        if status >= 500 or status in _RETRYABLE_4XX:
            raise PlatformUnavailable(
                message, retry_after=_retry_after(response, self._clock), **context
            )
        if status == 404:
            raise NotFoundOnPlatform(message, **context)
        if 400 <= status < 500:
            raise PlatformRejected(message, **context)
        raise PlatformError(f"unexpected HTTP status: {message}", **context)


# -- helpers ------------------------------------------------------------------


def _rfc3339(value: datetime, name: str) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _range(since: datetime | None, until: datetime | None) -> dict[str, str]:
    params: dict[str, str] = {}
    if since is not None:
        params["since"] = _rfc3339(since, "since")
    if until is not None:
        params["until"] = _rfc3339(until, "until")
    if since is not None and until is not None and since > until:
        raise ValueError("since must not be after until")
    return params


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PlatformResponseInvalid(
            f"response is not JSON: {exc}", status_code=response.status_code
        ) from exc


def _parse(model: type[_M], data: Any, **extra: Any) -> _M:
    if not isinstance(data, dict):
        raise PlatformResponseInvalid(f"expected a JSON object for {model.__name__}")
    try:
        return model.model_validate({**data, **extra})
    except ValidationError as exc:
        raise PlatformResponseInvalid(f"invalid {model.__name__}: {exc}") from exc


def _replayed(response: httpx.Response) -> bool:
    value: str = response.headers.get(IDEMPOTENT_REPLAYED_HEADER, "")
    return value.lower() == "true"


def _error_details(response: httpx.Response) -> tuple[str | None, str]:
    """(code, message) from the contract's error body, degrading to raw text."""
    fallback = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        text = response.text.strip()[:500]
        return None, f"{fallback}: {text}" if text else fallback
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = error.get("code")
        message = error.get("message")
        return (
            code if isinstance(code, str) else None,
            message if isinstance(message, str) and message else fallback,
        )
    return None, f"{fallback}: {json.dumps(body)[:500]}"


def _retry_after(response: httpx.Response, clock: Clock) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - clock())
