"""The DSA Transparency Database API, as Bastion calls it: the multiple endpoint and the puid look-up.

Only a `201 Created` means the database holds the statements (the API documentation says so in as
many words); a 422 on the multiple endpoint means none of the batch was created, with errors keyed
`statement_<index>`. A 5xx, a 429 or a broken connection may or may not have created them, which
is why every statement carries its puid: sent again, a statement already held comes back as a 422
on `puid` ("not unique within this platform"), and the caller takes the existing one's uuid.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from bastion.errors import BastionError

API_PREFIX = "/api/v1"


class DsaUnavailable(BastionError):
    """The database did not answer with a verdict: retry later (the puid keeps it from duplicating)."""

    code = "dsa_unavailable"
    status = 503


class DsaRefusedCredentials(BastionError):
    """401: the token is wrong or was replaced by a newer one."""

    code = "dsa_credentials"
    status = 502


@dataclass
class BatchAnswer:
    """A 201 (created: puid -> uuid) or a 422 (errors by index in the batch; nothing was created)."""

    created: dict[str, str] = field(default_factory=dict)
    errors: dict[int, dict[str, list[str]]] = field(default_factory=dict)


def duplicate_only(errors: dict[str, list[str]]) -> bool:
    """The only complaint is that the puid exists already: the statement was filed before."""
    return set(errors) == {"puid"} and all("not unique" in m for m in errors["puid"])


class TransparencyDatabase:
    """A thin client; `base_url` is the host (sandbox, production, or the local stand-in)."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
                                  headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})

    def close(self) -> None:
        self._http.close()

    def _post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        try:
            response = self._http.post(API_PREFIX + path, json=body)
        except httpx.HTTPError as exc:
            raise DsaUnavailable(f"The DSA Transparency Database did not answer ({type(exc).__name__}); "
                                 "the batch will be sent again.") from exc
        self._raise_for_transient(response)
        return response

    @staticmethod
    def _raise_for_transient(response: httpx.Response) -> None:
        if response.status_code == 401:
            raise DsaRefusedCredentials("The DSA Transparency Database refused the API token (401): generate a new "
                                        "token in the database's profile page and set BASTION_DSA_TDB_TOKEN.")
        if response.status_code == 429 or response.status_code >= 500:
            raise DsaUnavailable(f"The DSA Transparency Database answered {response.status_code}; "
                                 "the batch will be sent again.")

    def submit(self, statements: list[dict[str, Any]]) -> BatchAnswer:
        """POST the batch to the multiple endpoint (at most 100 statements)."""
        response = self._post("/statements", {"statements": statements})
        body = response.json() if response.content else {}
        if response.status_code == 201:
            return BatchAnswer(created={str(s.get("puid")): str(s.get("uuid")) for s in body.get("statements", [])})
        if response.status_code == 422 and isinstance(body.get("errors"), dict):
            errors: dict[int, dict[str, list[str]]] = {}
            for key, fields in body["errors"].items():
                if key.startswith("statement_") and key[10:].isdigit():
                    errors[int(key[10:])] = {str(k): [str(m) for m in v] for k, v in dict(fields).items()}
            if errors:
                return BatchAnswer(errors=errors)
        raise DsaUnavailable(f"Unexpected answer {response.status_code} from the DSA Transparency Database: "
                             f"{response.text[:300]}")

    def existing(self, puid: str) -> str | None:
        """The uuid of the statement filed under `puid`, or None (the look-up answers 302 or 404)."""
        try:
            response = self._http.get(f"{API_PREFIX}/statement/existing-puid/{puid}")
        except httpx.HTTPError as exc:
            raise DsaUnavailable(f"The DSA Transparency Database did not answer ({type(exc).__name__}).") from exc
        self._raise_for_transient(response)
        if response.status_code == 302:
            return str(response.json().get("uuid", "")) or None
        return None
