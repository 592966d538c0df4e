"""Tech Against Terrorism's hash list (TCAP) through python-threatexchange's own client and exchange.

Fetching is the library's `TATSignalExchangeAPI`: a JWT from `token-auth/tcap/` for the user and
password, then `api/hash-list/v2/all` in ascending order after the stored checkpoint (`<updated
time>,<id>` of the last record of the last page), page by page through the answer's `next`. Deleted
records are removals; only PDQ and the MD5 of video files are kept by the library. The only change:
the base URL may be another than the library's fixed one (a test host, the local stand-in).
"""

from __future__ import annotations

import typing as t

from threatexchange.exchanges.clients.techagainstterrorism import api
from threatexchange.exchanges.impl.techagainstterrorism_api import TATSignalExchangeAPI

API_NAME = "tat"  # the library's name, which HMA uses too
DEFAULT_BASE_URL = api.TATHashListAPI.BASE_URL


class BastionTATAPI(TATSignalExchangeAPI):
    """The library's TCAP exchange, optionally on another base URL."""

    def __init__(self, username: str, password: str, base_url: str = "") -> None:
        super().__init__(username, password)
        self._base_url = base_url.rstrip("/") + "/" if base_url else ""

    def get_client(self) -> api.TATHashListAPI:
        client = super().get_client()
        if self._base_url:
            client.BASE_URL = self._base_url  # type: ignore[misc]  (a class constant in the library)
        return client


def exchange(credentials: dict[str, t.Any], base_url: str) -> BastionTATAPI:
    return BastionTATAPI(str(credentials.get("user", "")), str(credentials.get("password", "")), base_url)
