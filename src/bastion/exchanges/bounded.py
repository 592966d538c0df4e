"""Time budgets for python-threatexchange's HTTP clients: a hung exchange must not hang a fetch.

The library's clients build a `requests` session per call with a `TimeoutHTTPAdapter` that waits
60 seconds (and only on the base URL's prefix: a redirect elsewhere waits forever), and their
retry policy asks again after a read timeout, up to five times a call. Bastion's budget is the
exchange fetch policy's `timeout_seconds`. `bound_session` sets it on every adapter of a session
the library built and stops retrying a call the server did not answer (the library's retries on
429 and 5xx answers stay); `timeouts_as` turns a timeout into `ExchangeTimedOut`, whose message
names only the scheme, host and port: never a path, a query (the Graph API carries its token in
it) or user information.
"""

from __future__ import annotations

import typing as t
from contextlib import contextmanager
from urllib.parse import urlsplit

import requests
from threatexchange.exchanges.clients.utils.common import TimeoutHTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, ReadTimeoutError

from bastion.exchanges.errors import ExchangeTimedOut

AFTER = ("then run the fetch again: it resumes from the last saved checkpoint (a share-back is sent again "
         "by itself).")


def timed_out(exc: requests.RequestException) -> bool:
    """A timeout, also when the session's retries wrap a connect or read timeout in a ConnectionError."""
    if isinstance(exc, requests.Timeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(reason, (ReadTimeoutError, ConnectTimeoutError))


def origin(url: str) -> str:
    """`scheme://host[:port]` of a URL, nothing else (no user, password, path or query)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return "its base URL"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def bound_session(session: requests.Session, timeout: float) -> requests.Session:
    """The library's session, every adapter waiting at most `timeout` and not asking again after a timeout."""
    for prefix, adapter in list(session.adapters.items()):
        if not isinstance(adapter, TimeoutHTTPAdapter):
            adapter = TimeoutHTTPAdapter(timeout=timeout, max_retries=adapter.max_retries)
            session.mount(prefix, adapter)
        adapter.timeout = timeout
        adapter.max_retries = adapter.max_retries.new(connect=0, read=0)  # requests holds a `Retry` here
    return session


@contextmanager
def timeouts_as(label: str, base_url: str, timeout: float, check: str) -> t.Iterator[None]:
    """Within: a request that timed out raises `ExchangeTimedOut` naming `label` at the base URL's origin."""
    try:
        yield
    except requests.RequestException as exc:
        if not timed_out(exc):
            raise
        raise ExchangeTimedOut(
            f"{label} at {origin(base_url)} did not answer within {timeout:g} seconds. {check}, {AFTER}",
            timeout=timeout) from None
