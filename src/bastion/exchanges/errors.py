"""Typed errors of the exchanges domain."""

from __future__ import annotations

from bastion.errors import Conflict, InvalidInput, NotFound


class ExchangeNotFound(NotFound):
    code = "exchange_not_found"


class ExchangeExists(Conflict):
    code = "exchange_exists"


class MissingCredentials(InvalidInput):
    code = "exchange_credentials_missing"
