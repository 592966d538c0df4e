"""Typed errors of the banks domain."""

from __future__ import annotations

from bastion.errors import BastionError, Conflict, InvalidInput, NotFound


class BankNotFound(NotFound):
    code = "bank_not_found"


class BankExists(Conflict):
    code = "bank_exists"


class InvalidBankName(InvalidInput):
    code = "invalid_bank_name"


class EntryNotFound(NotFound):
    code = "entry_not_found"


class UnknownSignalType(InvalidInput):
    code = "unknown_signal_type"


class ImportRejected(BastionError):
    """An `--atomic` import found bad lines; nothing was imported."""

    code = "import_rejected"
    status = 422
