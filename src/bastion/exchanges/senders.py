"""Sending one contribution through python-threatexchange's client for the exchange's type.

Only hashes and the exchange's own ids leave: NCMEC feedback (`submit_feedback`, up or down, on
the member's entry and the matched fingerprint), StopNCII feedback (`submit_feedback`, Blocked or
NotBlocked), ThreatExchange reactions (`react_to_threat_descriptor`) and new descriptors
(`upload_threat_descriptor`). Every client is bounded by the exchange fetch policy's timeout: a
server that does not answer raises `ExchangeTimedOut`, which is not permanent (the outbox sends
again later). Each call is one the exchange treats as a replacement of this
platform's earlier opinion, so a resend after a crash does not count twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from threatexchange.exchanges.clients.ncmec import hash_api

from bastion.exchanges import ncmec_hashes, stopncii, te_graph
from bastion.exchanges.errors import ExchangeTimedOut
from bastion.exchanges.types import check_base_url
from bastion.scanning.urlfetch import FetchPolicy


@dataclass(frozen=True)
class Outgoing:
    id: int
    exchange_id: int
    kind: str
    upstream_id: str
    signal_type: str
    value: str
    payload: dict[str, Any]

    @property
    def positive(self) -> bool:
        return self.kind != "false_positive"


class Refused(Exception):
    """The exchange (or the configuration) says no for good: retrying the same request cannot help."""


def permanent(exc: Exception) -> bool:
    if isinstance(exc, (Refused, te_graph.GraphApiRefused, ValueError, KeyError)):
        return True
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return 400 <= exc.response.status_code < 500 and exc.response.status_code != 429
    return False


def send(api: str, settings: dict[str, Any], credentials: dict[str, Any], policy: FetchPolicy,
         item: Outgoing) -> dict[str, Any]:
    base_url = str(settings.get("base_url", "") or "")
    if base_url:
        check_base_url(base_url, policy)  # the SSRF guard, as for fetches
    if api == "ncmec":
        return _ncmec(settings, credentials, base_url, policy.timeout_seconds, item)
    if api == "stop_ncii":
        stopncii.send_feedback(credentials, base_url, item.signal_type, item.value, item.positive,
                               policy.timeout_seconds)
        return {"feedback": "Blocked" if item.positive else "NotBlocked"}
    if api == "fb_threatexchange":
        token = str(credentials.get("token", ""))
        if item.kind == "new_material":
            descriptor = te_graph.upload(token, base_url, int(settings["privacy_group"]), item.signal_type,
                                         item.value, [], policy.timeout_seconds)
            return {"descriptor_id": descriptor}
        for descriptor_id in item.payload.get("descriptors", []):
            te_graph.react(token, base_url, int(descriptor_id), item.positive, policy.timeout_seconds)
        return {"reaction": te_graph.POSITIVE_REACTION if item.positive else te_graph.NEGATIVE_REACTION,
                "descriptors": item.payload.get("descriptors", [])}
    raise Refused(f"{api} takes no contributions.")


def _ncmec(settings: dict[str, Any], credentials: dict[str, Any], base_url: str, timeout: float,
           item: Outgoing) -> dict[str, Any]:
    client = ncmec_hashes.client(str(credentials.get("user", "")), str(credentials.get("password", "")),
                                 settings["environment"], base_url, timeout)
    fingerprint = hash_api.FingerprintType[item.signal_type]
    member, entry = int(item.payload["member_id"]), str(item.payload["entry_id"])
    if item.positive:
        client.submit_feedback(member, entry, fingerprint, hash_api.FeedbackType.upvote)
        return {"feedback": "upvote", "fingerprint": fingerprint.value}
    reason = str(settings.get("negative_reason", "") or "") or None
    try:
        client.submit_feedback(member, entry, fingerprint, hash_api.FeedbackType.downvote, reason)
    except (requests.HTTPError, ExchangeTimedOut):  # an answer, or none: not a missing reason
        raise
    except Exception as exc:  # the library raises a bare Exception when it cannot pick a reason itself
        raise Refused(f"NCMEC needs a negative-feedback reason for {fingerprint.value}: {exc}"[:500]) from None
    return {"feedback": "downvote", "fingerprint": fingerprint.value}
