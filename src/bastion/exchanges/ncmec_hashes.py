"""NCMEC's hash-sharing API through python-threatexchange's own client.

`BastionNCMECAPI` is the library's `NCMECSignalExchangeAPI` with one change: the
client may be pointed at another base URL than the fixed environments (NCMEC's test
hosts move; the local stand-in is on loopback). Everything else, the time-window
probing, paging, the checkpoint and the XML parsing, is the library's.
"""

from __future__ import annotations

from threatexchange.exchanges.clients.ncmec import hash_api
from threatexchange.exchanges.impl.ncmec_api import NCMECCollabConfig, NCMECSignalExchangeAPI

API_NAME = "ncmec"
ENVIRONMENTS = tuple(env.name for env in hash_api.NCMECEnvironment)
#: NCMEC's fingerprint names (lower-cased XML tags) that are Bastion signal types.
FINGERPRINTS = {"pdq": "pdq", "md5": "md5", "sha1": "sha1"}


class BastionNCMECAPI(NCMECSignalExchangeAPI):
    """The library's NCMEC exchange, optionally on another base URL."""

    def __init__(self, collab: NCMECCollabConfig, username: str, password: str, base_url: str = "") -> None:
        super().__init__(collab, username, password)
        self._base_url = base_url.rstrip("/")

    def get_client(self, environment: hash_api.NCMECEnvironment) -> hash_api.NCMECHashAPI:
        client = super().get_client(environment)
        if self._base_url:
            client._base_url = self._base_url  # noqa: SLF001  (the library has no parameter for it)
        return client


def signals_of(entry: hash_api.NCMECEntryUpdate) -> dict[str, str]:
    """The entry's fingerprints that Bastion banks hold, by Bastion's signal names (not yet validated)."""
    return {FINGERPRINTS[kind.lower()]: value.strip().lower() for kind, value in entry.fingerprints.items()
            if kind.lower() in FINGERPRINTS and value}
