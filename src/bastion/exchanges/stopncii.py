"""StopNCII.org through python-threatexchange's own client (`clients.stopncii.api.StopNCIIAPI`).

`BastionStopNCIIAPI` is the library's `StopNCIISignalExchangeAPI` with two changes:

* A hash whose case status (`hashStatus`) is `Withdrawn` or `Deleted` is a removal. The
  library compares the hash *value* with those statuses (so it never removes anything);
  a person who withdraws their submission must see it leave the banks.
* A record of a signal type Bastion does not bank is handed on under the key
  `("unsupported", …)` instead of being dropped silently, so the fetch counts it as skipped.

Everything else (the FetchHashes paging, `nextSetTimestamp` as the checkpoint after each
page, the JSON parsing, the API keys in headers) is the library's. Share-back uses the
library's `submit_feedback` (Blocked on a confirmed match, NotBlocked on a false positive),
which needs the SubmitFeedback function key.

The library's client waits 60 seconds a call (asking a GET that timed out again up to four
times), so a server that takes the connection and never answers holds a fetch for minutes.
`BoundedStopNCIIAPI` bounds every call (FetchHashes and SubmitFeedback alike) with the exchange
fetch policy's timeout and turns a timeout into `ExchangeTimedOut`; its message names the host,
never the keys (they travel in headers).
"""

from __future__ import annotations

import typing as t

import requests
from threatexchange.exchanges import fetch_state as state
from threatexchange.exchanges.clients.stopncii import api
from threatexchange.exchanges.collab_config import CollaborationConfigBase
from threatexchange.exchanges.impl.stop_ncii_api import (
    StopNCIICheckpoint,
    StopNCIISignalExchangeAPI,
    StopNCIISignalMetadata,
)
from threatexchange.signal_type.signal_base import SignalType

from bastion.exchanges import bounded

API_NAME = "stop_ncii"
UNSUPPORTED = "unsupported"
#: StopNCII's signal types -> Bastion's signal names
SIGNALS = {api.StopNCIISignalType.ImagePDQ: "pdq", api.StopNCIISignalType.VideoMD5: "md5"}
#: and back, for feedback
STOPNCII_TYPES = {name: kind for kind, name in SIGNALS.items()}
GONE = (api.StopNCIICaseStatus.Withdrawn, api.StopNCIICaseStatus.Deleted)


class BoundedStopNCIIAPI(api.StopNCIIAPI):
    """The library's client, every call bounded by `timeout` seconds (connect and each read)."""

    def __init__(self, subscription_key: str, fetch_function_key: str,
                 additional_function_keys: dict[api.StopNCIIEndpoint, str] | None = None,
                 base_url_override: str | None = None, *, timeout: float) -> None:
        super().__init__(subscription_key, fetch_function_key, additional_function_keys, base_url_override)
        self.timeout = timeout

    def _bounded(self) -> t.ContextManager[None]:
        return bounded.timeouts_as(
            "StopNCII", self._base_url, self.timeout,
            "Check that the exchange's base URL points at a StopNCII server that is up (leave it empty for "
            "api.stopncii.org)")

    def _get_session(self, endpoint: api.StopNCIIEndpoint) -> requests.Session:
        return bounded.bound_session(super()._get_session(endpoint), self.timeout)

    def _get(self, endpoint: api.StopNCIIEndpoint, **params: t.Any) -> t.Any:
        with self._bounded():
            return super()._get(endpoint, **params)

    def _post(self, endpoint: api.StopNCIIEndpoint, *, json: t.Any = None) -> t.Any:
        with self._bounded():
            return super()._post(endpoint, json=json)


def client(subscription_key: str, fetch_key: str, feedback_key: str = "", base_url: str = "", *,
           timeout: float) -> BoundedStopNCIIAPI:
    extra = {api.StopNCIIEndpoint.SubmitFeedback: feedback_key} if feedback_key else {}
    return BoundedStopNCIIAPI(subscription_key, fetch_key, extra, base_url_override=base_url.rstrip("/") or None,
                              timeout=timeout)


class BastionStopNCIIAPI(StopNCIISignalExchangeAPI):
    """The library's StopNCII exchange, with withdrawn and deleted hashes removed."""

    def fetch_iter(self, _supported_signal_types: t.Sequence[type[SignalType]],
                   checkpoint: StopNCIICheckpoint | None
                   ) -> t.Iterator[state.FetchDelta[tuple[str, str], StopNCIISignalMetadata | None, StopNCIICheckpoint]]:
        start = checkpoint.update_time if checkpoint is not None else api.StopNCIIAPI.DEFAULT_START_TIME
        for result in self.api.fetch_hashes_iter(start_timestamp=start):
            updates: dict[tuple[str, str], StopNCIISignalMetadata | None] = {}
            for record in result.hashRecords:
                kind = SIGNALS.get(record.signalType)
                if kind is None:
                    updates[(UNSUPPORTED, f"{record.signalType.value}:{record.hashValue}")] = None
                elif record.hashStatus in GONE:
                    updates[(kind, record.hashValue)] = None
                else:
                    updates[(kind, record.hashValue)] = StopNCIISignalMetadata(record.CSPFeedbacks)
            yield state.FetchDelta(updates, StopNCIICheckpoint.from_stopncii_fetch(result))


def exchange(name: str, credentials: dict[str, t.Any], base_url: str, timeout: float) -> BastionStopNCIIAPI:
    collab = CollaborationConfigBase(name=name, api=API_NAME, enabled=True)
    return BastionStopNCIIAPI(collab, client(str(credentials.get("subscription_key", "")),
                                             str(credentials.get("fetch_key", "")), "", base_url, timeout=timeout))


def labels_of(record: StopNCIISignalMetadata) -> dict[str, t.Any]:
    """How many platforms said Blocked / NotBlocked (the feedback's counts, not who said it)."""
    counts: dict[str, int] = {}
    for feedback in record.feedbacks:
        counts[feedback.feedbackValue.value] = counts.get(feedback.feedbackValue.value, 0) + 1
    return {"feedback": dict(sorted(counts.items()))} if counts else {}


def send_feedback(credentials: dict[str, t.Any], base_url: str, signal_type: str, value: str, positive: bool,
                  timeout: float) -> None:
    """Blocked (a reviewer confirmed the match) or NotBlocked (a false positive) on one hash."""
    key = str(credentials.get("feedback_key", ""))
    if not key:
        raise ValueError("StopNCII feedback needs the SubmitFeedback function key (credential `feedback_key`).")
    stopncii = client(str(credentials.get("subscription_key", "")), str(credentials.get("fetch_key", "")), key,
                      base_url, timeout=timeout)
    verdict = api.StopNCIICSPFeedbackValue.Blocked if positive else api.StopNCIICSPFeedbackValue.NotBlocked
    stopncii.submit_feedback(STOPNCII_TYPES[signal_type], value, verdict)
