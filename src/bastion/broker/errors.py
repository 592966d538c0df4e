"""The broker's typed error."""

from __future__ import annotations

from bastion.errors import BastionError


class BrokerUnavailable(BastionError):
    """A broker is configured but does not answer: callers should come back after `retry_after_seconds`."""

    code = "broker_unavailable"
    status = 503
    retry_after_seconds = 30
