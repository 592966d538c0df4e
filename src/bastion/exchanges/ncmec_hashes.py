"""NCMEC's hash-sharing API through python-threatexchange's own client.

`BastionNCMECAPI` is the library's `NCMECSignalExchangeAPI` with two changes: the
client may be pointed at another base URL than the fixed environments (NCMEC's test
hosts move; the local stand-in is on loopback), and it is `BoundedNCMECHashAPI`.
Everything else, the time-window probing, paging, the checkpoint and the XML parsing,
is the library's.

The library's client waits 60 seconds a call, and asks a GET that timed out again up to four
times, so a server that takes the connection and never answers holds a fetch for minutes.
`BoundedNCMECHashAPI` bounds every call (the entries reads and the feedback writes alike) with
the exchange fetch policy's timeout and turns a timeout into `ExchangeTimedOut`.
"""

from __future__ import annotations

import typing as t
import xml.etree.ElementTree as ET

import requests
from threatexchange.exchanges.clients.ncmec import hash_api
from threatexchange.exchanges.impl.ncmec_api import NCMECCollabConfig, NCMECSignalExchangeAPI

from bastion.exchanges import bounded

API_NAME = "ncmec"
ENVIRONMENTS = tuple(env.name for env in hash_api.NCMECEnvironment)
#: NCMEC's fingerprint names (lower-cased XML tags) that are Bastion signal types.
FINGERPRINTS = {"pdq": "pdq", "md5": "md5", "sha1": "sha1"}


class BoundedNCMECHashAPI(hash_api.NCMECHashAPI):
    """The library's client, optionally on another base URL, every call bounded by `timeout` seconds."""

    def __init__(self, username: str, password: str, environment: hash_api.NCMECEnvironment, *,
                 base_url: str = "", timeout: float) -> None:
        super().__init__(username, password, environment)
        if base_url:
            self._base_url = base_url.rstrip("/")  # the library has no parameter for it
        self.timeout = timeout

    def _bounded(self) -> t.ContextManager[None]:
        return bounded.timeouts_as(
            "NCMEC hash sharing", self._base_url, self.timeout,
            "Check that the exchange's environment, or its base URL if set, points at a hash-sharing server "
            "that is up")

    def _get_session(self) -> requests.Session:
        return bounded.bound_session(super()._get_session(), self.timeout)

    def _get(self, endpoint: hash_api.NCMECEndpoint, *, path: str = "", next_: str = "",
             **params: t.Any) -> ET.Element:
        with self._bounded():
            return super()._get(endpoint, path=path, next_=next_, **params)

    def _post(self, endpoint: hash_api.NCMECEndpoint, *, data: t.Any = None) -> t.Any:
        with self._bounded():
            return super()._post(endpoint, data=data)

    def _put(self, endpoint: hash_api.NCMECEndpoint, *, path: str | None = None,
             data: bytes | None = None) -> t.Any:
        with self._bounded():
            return super()._put(endpoint, path=path, data=data)


def client(username: str, password: str, environment: str, base_url: str, timeout: float) -> BoundedNCMECHashAPI:
    """A bounded client for one environment (by name), for share-back."""
    return BoundedNCMECHashAPI(username, password, hash_api.NCMECEnvironment[environment], base_url=base_url,
                               timeout=timeout)


class BastionNCMECAPI(NCMECSignalExchangeAPI):
    """The library's NCMEC exchange, optionally on another base URL, through the bounded client."""

    def __init__(self, collab: NCMECCollabConfig, username: str, password: str, base_url: str = "", *,
                 timeout: float) -> None:
        super().__init__(collab, username, password)
        self._base_url = base_url.rstrip("/")
        self.timeout = timeout

    def get_client(self, environment: hash_api.NCMECEnvironment) -> hash_api.NCMECHashAPI:
        super().get_client(environment)  # the library's own check of the user and password (no network)
        return BoundedNCMECHashAPI(self._username, self._password, environment, base_url=self._base_url,
                                   timeout=self.timeout)


def signals_of(entry: hash_api.NCMECEntryUpdate) -> dict[str, str]:
    """The entry's fingerprints that Bastion banks hold, by Bastion's signal names (not yet validated)."""
    return {FINGERPRINTS[kind.lower()]: value.strip().lower() for kind, value in entry.fingerprints.items()
            if kind.lower() in FINGERPRINTS and value}
