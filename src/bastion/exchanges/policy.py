"""The SSRF guard's policy for exchanges, from the settings: their own allow-lists, and a larger size cap than media."""

from __future__ import annotations

from bastion.config import Settings
from bastion.scanning.urlfetch import FetchPolicy

MIN_TIMEOUT_SECONDS = 60.0


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy.from_settings(settings.exchange_allowed_hosts.split(","),
                                     settings.exchange_allowed_networks.split(","), settings.exchange_max_bytes,
                                     max(settings.scan_url_timeout_seconds, MIN_TIMEOUT_SECONDS))
