"""Tech Against Terrorism's hash list (TCAP) through python-threatexchange's own client and exchange.

Fetching is the library's `TATSignalExchangeAPI`: a JWT from `token-auth/tcap/` for the user and
password, then `api/hash-list/v2/all` in ascending order after the stored checkpoint (`<updated
time>,<id>` of the last record of the last page), page by page through the answer's `next`. Deleted
records are removals; only PDQ and the MD5 of video files are kept by the library. The only change:
the base URL may be another than the library's fixed one (a test host, the local stand-in), and
the client is `BoundedTATHashListAPI`.

The library's client waits 60 seconds a call (asking a GET that timed out again up to four
times), so a server that takes the connection and never answers holds a fetch for minutes.
`BoundedTATHashListAPI` bounds every call (the login and each page) with the exchange fetch
policy's timeout and turns a timeout into `ExchangeTimedOut`; its message names the host, never
the password (sent in the login's body) or the token (a header).
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from threatexchange.exchanges.clients.techagainstterrorism import api
from threatexchange.exchanges.impl.techagainstterrorism_api import TATSignalExchangeAPI

from bastion.exchanges import bounded

API_NAME = "tat"  # the library's name, which HMA uses too
DEFAULT_BASE_URL = api.TATHashListAPI.BASE_URL


class BoundedTATHashListAPI(api.TATHashListAPI):
    """The library's client, optionally on another base URL, every call bounded by `timeout` seconds."""

    def __init__(self, username: str, password: str, *, base_url: str = "", timeout: float) -> None:
        super().__init__(username, password)
        if base_url:
            self.BASE_URL = base_url  # type: ignore[misc]  (a class constant in the library)
        self.timeout = timeout

    def _bounded(self) -> t.ContextManager[None]:
        return bounded.timeouts_as(
            "TCAP", self.BASE_URL, self.timeout,
            "Check that the exchange's base URL points at a TCAP server that is up (leave it empty for "
            "Tech Against Terrorism's)")

    @contextmanager
    def _get_session(self, auth_token: str | None = None) -> Iterator[requests.Session]:
        with super()._get_session(auth_token) as session:
            yield bounded.bound_session(session, self.timeout)

    def _get(self, full_url: str | None = None, auth_token: str | None = None, **params: t.Any) -> t.Any:
        with self._bounded():
            return super()._get(full_url, auth_token, **params)

    def _post(self, endpoint: api.TATEndpoint, data: t.Any = None) -> t.Any:
        with self._bounded():
            return super()._post(endpoint, data)


class BastionTATAPI(TATSignalExchangeAPI):
    """The library's TCAP exchange, optionally on another base URL, through the bounded client."""

    def __init__(self, username: str, password: str, base_url: str = "", *, timeout: float) -> None:
        super().__init__(username, password)
        self._base_url = base_url.rstrip("/") + "/" if base_url else ""
        self.timeout = timeout

    def get_client(self) -> api.TATHashListAPI:
        return BoundedTATHashListAPI(self.username, self.password, base_url=self._base_url, timeout=self.timeout)


def exchange(credentials: dict[str, t.Any], base_url: str, timeout: float) -> BastionTATAPI:
    return BastionTATAPI(str(credentials.get("user", "")), str(credentials.get("password", "")), base_url,
                         timeout=timeout)
