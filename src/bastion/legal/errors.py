"""Typed refusals of the legal desk; each message tells the person what to do next."""

from __future__ import annotations

from bastion.errors import BastionError, Conflict, InvalidInput, NotFound


class RequestNotFound(NotFound):
    code = "legal_request_not_found"


class CatalogueNotFound(NotFound):
    code = "legal_catalogue_not_found"


class AgencyNotFound(NotFound):
    code = "agency_not_found"


class DocumentRefused(InvalidInput):
    """An attachment that is not a PDF or an image, or too large."""

    code = "document_refused"
    status = 415


class RequestHeld(Conflict):
    """A held request (unverified sender) is never answered."""

    code = "request_held"


class CallbackRequired(Conflict):
    code = "callback_required"


class SecondApproverRequired(Conflict):
    code = "second_approver_required"


class OutOfScope(InvalidInput):
    code = "out_of_scope"


class RequestIncomplete(Conflict):
    code = "request_incomplete"


class WrongState(Conflict):
    code = "legal_wrong_state"


class ScopeChanged(WrongState):
    """The request no longer matches what was approved: the approval is void (see `bastion.legal.scope`)."""

    code = "legal_scope_changed"


class TokenInvalid(BastionError):
    code = "download_token_invalid"
    status = 404


class PlatformFailed(BastionError):
    """The platform did not answer (or refused); nothing was changed on our side, so the act can be retried."""

    code = "platform_unavailable"
    status = 502
