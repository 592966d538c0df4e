"""Typed errors of the cases domain."""

from __future__ import annotations

from bastion.errors import BastionError, Conflict, InvalidInput, NotFound


class CaseNotFound(NotFound):
    code = "case_not_found"


class CaseHeld(Conflict):
    """Someone else holds the claim; the message names them."""

    code = "case_held"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class DecisionRefused(InvalidInput):
    code = "decision_refused"


class NotRevealed(BastionError):
    code = "not_revealed"
    status = 403


class ClaimRequired(BastionError):
    """Unblurred media is for the reviewer holding the case (or a review lead), no one else."""

    code = "claim_required"
    status = 403

    def __init__(self) -> None:
        super().__init__("Claim this case before revealing its media: only the reviewer holding a case, or a review "
                         "lead, sees it unblurred.")


class ExposureCapReached(Conflict):
    """The reviewer has revealed today's capped number of items: no more cases until tomorrow or a lead lifts it."""

    code = "exposure_cap_reached"
