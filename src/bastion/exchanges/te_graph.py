"""Meta's ThreatExchange (Graph API) through python-threatexchange's own client and exchange.

Fetching is the library's `FBThreatExchangeSignalExchangeAPI` unchanged: `/threat_updates`
of one privacy group, 100 updates a page, the highest `last_updated` seen as the checkpoint
after each page (a resumed fetch starts at that second again; re-applying a record is a
no-op), tombstones (`should_delete`) as removals. Only the Graph API base URL may be
pointed elsewhere (the local stand-in), through the client's own `endpoint_override`.

An indicator on which every opinion is negative (descriptors marked NON_MALICIOUS, or
DISAGREE_WITH_TAGS reactions) is treated as a removal: the group says it is not harmful.

Share-back uses the client's reactions (HELPFUL on a confirmed match, DISAGREE_WITH_TAGS
on a false positive: the reactions the library itself reads as positive and negative
opinions) and `upload_threat_descriptor` for confirmed new material.

The library's client reads pages with a bare `requests.get` (no timeout at all) and writes
through a session whose adapter waits 60 seconds, so a server that takes the connection and
never answers would hang a fetch forever. `BoundedThreatExchangeAPI` bounds every call with
the exchange fetch policy's timeout and turns a timeout into `ExchangeTimedOut`.
"""

from __future__ import annotations

import typing as t

import requests
from threatexchange.exchanges import fetch_state as state
from threatexchange.exchanges.clients.fb_threatexchange.api import ThreatExchangeAPI
from threatexchange.exchanges.impl.fb_threatexchange_api import (
    FBThreatExchangeCollabConfig,
    FBThreatExchangeIndicatorRecord,
    FBThreatExchangeSignalExchangeAPI,
)

from bastion.exchanges import bounded

API_NAME = "fb_threatexchange"
DEFAULT_BASE_URL = ThreatExchangeAPI._TE_BASE_URL  # noqa: SLF001
#: ThreatExchange indicator types -> Bastion's signal names
SIGNALS = {"HASH_PDQ": "pdq", "HASH_VIDEO_MD5": "md5", "HASH_MD5": "md5", "HASH_SHA1": "sha1",
           "HASH_SHA256": "sha256", "HASH_VIDEO_SHA256": "sha256"}
#: and back, for new descriptors
INDICATOR_TYPES = {"pdq": "HASH_PDQ", "md5": "HASH_MD5", "sha1": "HASH_SHA1", "sha256": "HASH_SHA256"}
POSITIVE_REACTION, NEGATIVE_REACTION = "HELPFUL", "DISAGREE_WITH_TAGS"


class GraphApiRefused(Exception):
    """The Graph API answered a write with an error document (it answers those with HTTP 200 or 4xx)."""

    def __init__(self, message: str, code: int | None) -> None:
        super().__init__(message)
        self.code = code


class BoundedThreatExchangeAPI(ThreatExchangeAPI):
    """The library's client, with every HTTP call it makes bounded by `timeout` seconds (connect and each read)."""

    def __init__(self, api_token: str, *, endpoint_override: str | None = None, timeout: float) -> None:
        super().__init__(api_token, endpoint_override=endpoint_override)
        self.timeout = timeout

    def _bounded(self) -> t.ContextManager[None]:
        return bounded.timeouts_as(
            "ThreatExchange", self._base_url, self.timeout,
            "Check that the exchange's base URL points at a Graph API server that is up (leave it empty for Meta's)")

    def get_json_from_url(self, url: str, params: t.Any = None, *,
                          json_obj_hook: t.Callable[..., t.Any] | None = None) -> t.Any:
        """The library's page read (threat updates, privacy groups), with the timeout it lacks."""
        with self._bounded():
            response = requests.get(url, params=params or {}, timeout=self.timeout)
            response.raise_for_status()
            return response.json(object_hook=json_obj_hook)

    def _get_session(self) -> requests.Session:
        """The library's session, every adapter waiting at most `timeout`."""
        return bounded.bound_session(super()._get_session(), self.timeout)

    def _postThreatDescriptor(self, url: str, postParams: t.Any, showURLs: bool, dryRun: bool) -> t.Any:  # noqa: N802,N803
        """Reactions and uploads both post through here."""
        with self._bounded():
            return super()._postThreatDescriptor(url, postParams, showURLs, dryRun)

    def delete_threat_descriptor(self, descriptor_id: t.Any, showURLs: bool, dryRun: bool) -> t.Any:  # noqa: N803
        with self._bounded():
            return super().delete_threat_descriptor(descriptor_id, showURLs, dryRun)


def client(token: str, base_url: str, timeout: float) -> BoundedThreatExchangeAPI:
    return BoundedThreatExchangeAPI(token, endpoint_override=base_url.rstrip("/") or None, timeout=timeout)


def exchange(name: str, privacy_group: int, token: str, base_url: str,
             timeout: float) -> FBThreatExchangeSignalExchangeAPI:
    collab = FBThreatExchangeCollabConfig(name=name, privacy_group=privacy_group)
    return FBThreatExchangeSignalExchangeAPI(client(token, base_url, timeout), collab)


def labels_of(record: FBThreatExchangeIndicatorRecord) -> dict[str, t.Any]:
    """The group's opinions in short: the aggregate, the tags, and the descriptors (reactions go to them)."""
    aggregate = record.get_as_aggregate_opinion()
    descriptors = sorted({o.descriptor_id for o in record.opinions
                          if o.descriptor_id is not None and o.descriptor_id > 0})
    return {"opinion": aggregate.category.name.lower(), "tags": sorted(aggregate.tags),
            "owners": sorted({o.owner_app_id for o in record.opinions}), "descriptors": descriptors}


def all_negative(record: FBThreatExchangeIndicatorRecord) -> bool:
    return bool(record.opinions) and all(
        o.category == state.SignalOpinionCategory.NEGATIVE_CLASS for o in record.opinions)


def _checked(answer: t.Any) -> dict[str, t.Any]:
    """The client returns `[error, exception, body]` for writes; the Graph API's error is in the body."""
    error, exc, body = answer
    if error or exc:
        raise GraphApiRefused(str(error or exc), None)
    if isinstance(body, dict) and "error" in body:
        detail = body["error"] if isinstance(body["error"], dict) else {"message": str(body["error"])}
        raise GraphApiRefused(str(detail.get("message", "refused"))[:300], detail.get("code"))
    return body if isinstance(body, dict) else {}


def react(token: str, base_url: str, descriptor_id: int, positive: bool, timeout: float) -> None:
    _checked(client(token, base_url, timeout).react_to_threat_descriptor(
        descriptor_id, POSITIVE_REACTION if positive else NEGATIVE_REACTION))


def upload(token: str, base_url: str, privacy_group: int, signal_type: str, value: str, tags: list[str],
           timeout: float) -> str:
    """A new descriptor (MALICIOUS, shared with the privacy group only); returns its id."""
    params = {"indicator": value, "type": INDICATOR_TYPES[signal_type],
              "description": "Confirmed by a human reviewer", "share_level": "AMBER", "status": "MALICIOUS",
              "privacy_type": "HAS_PRIVACY_GROUP", "privacy_members": str(privacy_group), "tags": ",".join(tags)}
    body = _checked(client(token, base_url, timeout).upload_threat_descriptor(params, False, False))
    return str(body.get("id", ""))
