"""The exchange types Bastion can fetch, each a python-threatexchange `SignalExchangeAPI`.

A type says which settings and credentials it takes, builds an authenticated client for
one exchange, turns the client's update records into `Upstream` records (signals by
Bastion's names, or None for a record removed upstream, and its labels), and reads and
writes its checkpoint as JSON.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from threatexchange.exchanges.clients.fb_threatexchange.api import is_valid_app_token
from threatexchange.exchanges.clients.ncmec import hash_api
from threatexchange.exchanges.fetch_state import FetchCheckpointBase
from threatexchange.exchanges.impl.fb_threatexchange_api import FBThreatExchangeCheckpoint
from threatexchange.exchanges.impl.ncmec_api import NCMECCheckpoint, NCMECCollabConfig
from threatexchange.exchanges.impl.stop_ncii_api import StopNCIICheckpoint
from threatexchange.exchanges.impl.techagainstterrorism_api import TATCheckpoint
from threatexchange.utils import dataclass_json

from bastion.errors import InvalidInput
from bastion.exchanges import ncmec_hashes, stopncii, tcap, te_graph, urllist
from bastion.scanning.urlfetch import FetchPolicy, ForbiddenUrl


@dataclass(frozen=True)
class Upstream:
    """One upstream record: its id there, its signals (None: removed upstream), its labels; or why it was skipped."""

    upstream_id: str
    signals: dict[str, str] | None
    labels: dict[str, Any]
    skipped: str = ""


@dataclass(frozen=True)
class Rule:
    """How a setting is filled in: required or its default, its kind (string, number, list_of_number), choices."""

    required: bool = False
    default: Any = None
    kind: str = "string"
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExchangeType:
    name: str
    label: str
    #: setting -> help, for forms and `bastion exchanges add --set key=value`
    settings: dict[str, str]
    #: credential field -> help; which are needed can depend on the settings
    credentials: dict[str, str]
    #: the upstream is a whole list each time: records a completed fetch did not see are gone
    snapshot: bool
    check: Callable[[dict[str, Any], FetchPolicy], dict[str, Any]]
    client: Callable[[str, dict[str, Any], dict[str, Any], FetchPolicy], Any]
    translate: Callable[[Any, Any, dict[str, Any]], Upstream | None]
    checkpoint_cls: type[FetchCheckpointBase]
    needs: Callable[[dict[str, Any]], tuple[str, ...]]
    form: dict[str, Rule]
    #: raises InvalidInput for credentials that cannot be right (checked when they are set)
    check_credentials: Callable[[dict[str, Any]], None] = lambda _credentials: None

    def dump_checkpoint(self, checkpoint: FetchCheckpointBase) -> str:
        return json.dumps(dataclass_json.dataclass_dump_dict(checkpoint), sort_keys=True)

    def load_checkpoint(self, text: str) -> FetchCheckpointBase | None:
        return dataclass_json.dataclass_load_dict(json.loads(text), self.checkpoint_cls) if text else None


def check_base_url(url: str, policy: FetchPolicy) -> str:
    """A URL the SSRF guard allows: http(s), a valid host, and every address it resolves to allowed."""
    host = policy.check_url(url)
    port = urlsplit(url).port or (443 if url.startswith("https") else 80)
    try:
        addresses = [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
    except (socket.gaierror, UnicodeError):
        raise ForbiddenUrl(f"Cannot resolve the host of {url[:200]!r}; check the address.") from None
    refused = [a for a in addresses if not policy.address_allowed(a)]
    if refused or not addresses:
        raise ForbiddenUrl(f"{url[:200]!r} resolves to a private or reserved address; Bastion does not fetch from "
                           "internal networks (an operator may allow a network with BASTION_EXCHANGE_ALLOWED_NETWORKS).")
    return url


# -- URL lists ------------------------------------------------------------------------


def _url_check(settings: dict[str, Any], policy: FetchPolicy) -> dict[str, Any]:
    url = str(settings.get("url", "")).strip()
    fmt = str(settings.get("format", "te")).strip().lower()
    auth = str(settings.get("auth", "none")).strip().lower()
    if not url:
        raise InvalidInput("A URL list needs `url`: the HTTPS address of the list.")
    try:
        userinfo = urlsplit(url).username is not None
    except ValueError:
        userinfo = False  # the guard below names what is wrong with it
    if userinfo:  # settings are shown and audited; credentials are not
        raise InvalidInput("Put the list's user and password in the credentials (auth=basic), not in the URL.")
    if fmt not in urllist.FORMATS:
        raise InvalidInput(f"`format` must be one of {', '.join(urllist.FORMATS)}, not {fmt!r}.")
    if auth not in urllist.AUTH_KINDS:
        raise InvalidInput(f"`auth` must be one of {', '.join(urllist.AUTH_KINDS)}, not {auth!r}.")
    check_base_url(url, policy)
    return {"url": url, "format": fmt, "auth": auth}


def _url_client(name: str, settings: dict[str, Any], credentials: dict[str, Any], policy: FetchPolicy) -> Any:
    collab = urllist.UrlListCollabConfig(name=name, url=settings["url"], format=settings["format"],
                                         auth=settings["auth"])
    return urllist.UrlListSignalExchangeAPI(collab, credentials, policy)


def _url_translate(key: Any, record: Any, _settings: dict[str, Any]) -> Upstream | None:
    kind, value = key
    if record is None:
        return Upstream(f"{kind}:{value}", None, {})
    if record.error:
        return Upstream(value, None, {}, skipped=record.error)
    return Upstream(f"{kind}:{value}", {kind: value}, dict(record.labels))


def _url_needs(settings: dict[str, Any]) -> tuple[str, ...]:
    return {"basic": ("user", "password"), "bearer": ("token",)}.get(settings.get("auth", "none"), ())


URL_LIST = ExchangeType(
    name=urllist.API_NAME, label="URL list (CSV or python-threatexchange lines over HTTPS)",
    settings={"url": "HTTPS address of the list", "format": "csv or te (`pdq <hex>` lines)",
              "auth": "none, basic or bearer"},
    credentials={"user": "basic auth user", "password": "basic auth password", "token": "bearer token"},
    snapshot=True, check=_url_check, client=_url_client, translate=_url_translate,
    checkpoint_cls=urllist.UrlListCheckpoint, needs=_url_needs,
    form={"url": Rule(required=True), "format": Rule(default="te", choices=urllist.FORMATS),
          "auth": Rule(default="none", choices=urllist.AUTH_KINDS)},
)


# -- NCMEC hash sharing -------------------------------------------------------------------


def _ncmec_check(settings: dict[str, Any], policy: FetchPolicy) -> dict[str, Any]:
    environment = str(settings.get("environment", "")).strip()
    by_url = {env.value: env.name for env in hash_api.NCMECEnvironment}  # HMA's api_json carries the URL
    environment = by_url.get(environment, environment)
    if environment not in ncmec_hashes.ENVIRONMENTS:
        raise InvalidInput(f"`environment` must be one of {', '.join(ncmec_hashes.ENVIRONMENTS)}, not {environment!r}.")
    raw = settings.get("only_esp_ids", [])
    if isinstance(raw, str):
        raw = [part for part in raw.replace(" ", "").split(",") if part]
    try:
        esp_ids = sorted({int(part) for part in raw})
    except (TypeError, ValueError):
        raise InvalidInput("`only_esp_ids` must be member (ESP) ids, e.g. 1,42.") from None
    base_url = str(settings.get("base_url", "") or "").strip()
    if base_url:
        check_base_url(base_url, policy)
    return {"environment": environment, "only_esp_ids": esp_ids, "base_url": base_url}


def _ncmec_client(name: str, settings: dict[str, Any], credentials: dict[str, Any], policy: FetchPolicy) -> Any:
    if settings.get("base_url"):
        check_base_url(settings["base_url"], policy)  # again: DNS may have changed since the exchange was added
    collab = NCMECCollabConfig(name=name, environment=hash_api.NCMECEnvironment[settings["environment"]],
                               only_esp_ids=set(settings.get("only_esp_ids", [])))
    return ncmec_hashes.BastionNCMECAPI(collab, str(credentials.get("user", "")), str(credentials.get("password", "")),
                                        base_url=settings.get("base_url", ""), timeout=policy.timeout_seconds)


def _ncmec_translate(key: Any, entry: Any, settings: dict[str, Any]) -> Upstream | None:
    if entry is None or entry.deleted:
        return Upstream(str(key), None, {})
    only = settings.get("only_esp_ids") or []
    if only and entry.member_id not in only:
        return None
    labels = {"member_id": entry.member_id, "entry_type": entry.entry_type.value}
    if entry.classification:
        labels["classification"] = entry.classification
    signals = ncmec_hashes.signals_of(entry)
    if not signals:
        return Upstream(str(key), None, {}, skipped="no fingerprint of a type Bastion banks (pdq, md5, sha1)")
    return Upstream(str(key), signals, labels)


NCMEC = ExchangeType(
    name=ncmec_hashes.API_NAME, label="NCMEC hash sharing",
    settings={"environment": "one of " + ", ".join(ncmec_hashes.ENVIRONMENTS),
              "only_esp_ids": "only entries from these members (comma-separated ESP ids)",
              "base_url": "another base URL than the environment's (a test host, the local stand-in)"},
    credentials={"user": "hash-sharing API user", "password": "hash-sharing API password"},
    snapshot=False, check=_ncmec_check, client=_ncmec_client, translate=_ncmec_translate,
    checkpoint_cls=NCMECCheckpoint, needs=lambda _settings: ("user", "password"),
    form={"environment": Rule(required=True, choices=ncmec_hashes.ENVIRONMENTS),
          "only_esp_ids": Rule(default=[], kind="set_of_number"), "base_url": Rule(default="")},
)



def _base_url(settings: dict[str, Any], policy: FetchPolicy) -> str:
    base_url = str(settings.get("base_url", "") or "").strip()
    if base_url:
        check_base_url(base_url, policy)
    return base_url


# -- StopNCII -----------------------------------------------------------------------------


def _stopncii_check(settings: dict[str, Any], policy: FetchPolicy) -> dict[str, Any]:
    """Only a base URL to check (StopNCII, TCAP)."""
    return {"base_url": _base_url(settings, policy)}


def _stopncii_client(name: str, settings: dict[str, Any], credentials: dict[str, Any], policy: FetchPolicy) -> Any:
    return stopncii.exchange(name, credentials, _base_url(settings, policy),  # checked again: DNS may have changed
                             policy.timeout_seconds)


def _stopncii_translate(key: Any, record: Any, _settings: dict[str, Any]) -> Upstream | None:
    kind, value = key
    upstream_id = f"{kind}:{value}"
    if kind == stopncii.UNSUPPORTED:
        return Upstream(upstream_id, None, {}, skipped="a signal type Bastion does not bank")
    if record is None:
        return Upstream(upstream_id, None, {})
    return Upstream(upstream_id, {kind: value}, stopncii.labels_of(record))


STOP_NCII = ExchangeType(
    name=stopncii.API_NAME, label="StopNCII.org",
    settings={"base_url": "another base URL than https://api.stopncii.org/v1 (a test host, the local stand-in)"},
    credentials={"subscription_key": "Azure API Management subscription key",
                 "fetch_key": "FetchHashes function key",
                 "feedback_key": "SubmitFeedback function key (only to send feedback)"},
    snapshot=False, check=_stopncii_check, client=_stopncii_client, translate=_stopncii_translate,
    checkpoint_cls=StopNCIICheckpoint, needs=lambda _settings: ("subscription_key", "fetch_key"),
    form={"base_url": Rule(default="")},
)


# -- ThreatExchange (Graph API) -----------------------------------------------------------------


def _te_check(settings: dict[str, Any], policy: FetchPolicy) -> dict[str, Any]:
    try:
        group = int(str(settings.get("privacy_group", "")).strip())
    except ValueError:
        raise InvalidInput("ThreatExchange needs `privacy_group`: the numeric id of the privacy group.") from None
    return {"privacy_group": group, "base_url": _base_url(settings, policy)}


def _te_client(name: str, settings: dict[str, Any], credentials: dict[str, Any], policy: FetchPolicy) -> Any:
    return te_graph.exchange(name, int(settings["privacy_group"]), str(credentials.get("token", "")),
                             _base_url(settings, policy), policy.timeout_seconds)


def _te_translate(key: Any, record: Any, _settings: dict[str, Any]) -> Upstream | None:
    indicator_type, value = key
    upstream_id = f"{indicator_type}:{value}"
    kind = te_graph.SIGNALS.get(indicator_type)
    if kind is None:
        return Upstream(upstream_id, None, {}, skipped="an indicator type Bastion does not bank")
    if record is None or te_graph.all_negative(record):
        return Upstream(upstream_id, None, {})
    return Upstream(upstream_id, {kind: value}, te_graph.labels_of(record))


def _te_token_ok(credentials: dict[str, Any]) -> None:
    if credentials.get("token") and not is_valid_app_token(str(credentials["token"])):
        raise InvalidInput("A ThreatExchange token is an app access token: `<app id>|<secret>`.")


FB_THREATEXCHANGE = ExchangeType(
    name=te_graph.API_NAME, label="ThreatExchange (Meta Graph API)",
    settings={"privacy_group": "the ThreatPrivacyGroup id to fetch",
              "base_url": f"another Graph API base URL than {te_graph.DEFAULT_BASE_URL} (the local stand-in)"},
    credentials={"token": "app access token, `<app id>|<secret>`"},
    snapshot=False, check=_te_check, client=_te_client, translate=_te_translate,
    checkpoint_cls=FBThreatExchangeCheckpoint, needs=lambda _settings: ("token",),
    form={"privacy_group": Rule(required=True, kind="number"), "base_url": Rule(default="")},
    check_credentials=_te_token_ok,
)



# -- Tech Against Terrorism (TCAP) --------------------------------------------------------------


def _tcap_client(name: str, settings: dict[str, Any], credentials: dict[str, Any], policy: FetchPolicy) -> Any:
    return tcap.exchange(credentials, _base_url(settings, policy), policy.timeout_seconds)


def _tcap_translate(key: Any, record: Any, _settings: dict[str, Any]) -> Upstream | None:
    kind, value = key
    upstream_id = f"{kind}:{value}"
    if record is None:
        return Upstream(upstream_id, None, {})
    return Upstream(upstream_id, {"md5" if kind == "video_md5" else kind: value}, {})


TCAP = ExchangeType(
    name=tcap.API_NAME, label="Tech Against Terrorism (TCAP hash list)",
    settings={"base_url": f"another base URL than {tcap.DEFAULT_BASE_URL} (the local stand-in)"},
    credentials={"user": "TCAP hash-list user", "password": "TCAP hash-list password"},
    snapshot=False, check=_stopncii_check, client=_tcap_client, translate=_tcap_translate,
    checkpoint_cls=TATCheckpoint, needs=lambda _settings: ("user", "password"),
    form={"base_url": Rule(default="")},
)

TYPES: dict[str, ExchangeType] = {t.name: t for t in (NCMEC, URL_LIST, STOP_NCII, FB_THREATEXCHANGE, TCAP)}


def get_type(name: str) -> ExchangeType:
    try:
        return TYPES[name]
    except KeyError:
        raise InvalidInput(f"Unknown exchange type {name!r}; use one of: {', '.join(TYPES)}.") from None


def names() -> Iterable[str]:
    return TYPES.keys()
