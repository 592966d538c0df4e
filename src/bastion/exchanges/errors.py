"""Typed errors of the exchanges domain."""

from __future__ import annotations

from bastion.errors import BastionError, Conflict, InvalidInput, NotFound


class ExchangeNotFound(NotFound):
    code = "exchange_not_found"


class ExchangeExists(Conflict):
    code = "exchange_exists"


class MissingCredentials(InvalidInput):
    code = "exchange_credentials_missing"


class ExchangeTimedOut(BastionError):
    """The exchange's server took the connection but did not answer in time (retrying later may help)."""

    code = "exchange_timed_out"
    status = 504
