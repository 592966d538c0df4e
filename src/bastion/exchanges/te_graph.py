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
"""

from __future__ import annotations

import typing as t

from threatexchange.exchanges import fetch_state as state
from threatexchange.exchanges.clients.fb_threatexchange.api import ThreatExchangeAPI
from threatexchange.exchanges.impl.fb_threatexchange_api import (
    FBThreatExchangeCollabConfig,
    FBThreatExchangeIndicatorRecord,
    FBThreatExchangeSignalExchangeAPI,
)

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


def client(token: str, base_url: str = "") -> ThreatExchangeAPI:
    return ThreatExchangeAPI(token, endpoint_override=base_url.rstrip("/") or None)


def exchange(name: str, privacy_group: int, token: str, base_url: str) -> FBThreatExchangeSignalExchangeAPI:
    collab = FBThreatExchangeCollabConfig(name=name, privacy_group=privacy_group)
    return FBThreatExchangeSignalExchangeAPI(client(token, base_url), collab)


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


def react(token: str, base_url: str, descriptor_id: int, positive: bool) -> None:
    _checked(client(token, base_url).react_to_threat_descriptor(
        descriptor_id, POSITIVE_REACTION if positive else NEGATIVE_REACTION))


def upload(token: str, base_url: str, privacy_group: int, signal_type: str, value: str, tags: list[str]) -> str:
    """A new descriptor (MALICIOUS, shared with the privacy group only); returns its id."""
    params = {"indicator": value, "type": INDICATOR_TYPES[signal_type],
              "description": "Confirmed by a human reviewer", "share_level": "AMBER", "status": "MALICIOUS",
              "privacy_type": "HAS_PRIVACY_GROUP", "privacy_members": str(privacy_group), "tags": ",".join(tags)}
    body = _checked(client(token, base_url).upload_threat_descriptor(params, False, False))
    return str(body.get("id", ""))
