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


class AlreadyDecided(Conflict):
    """Another reviewer decided the item first: nothing is decided twice."""

    code = "already_decided"


class StaleSelection(Conflict):
    """A bulk decision's items changed after its confirmation page was shown; nothing was done.

    `changes` lists each difference as a sentence, so the page can show the selection again with them.
    """

    code = "stale_selection"

    def __init__(self, changes: list[str]) -> None:
        super().__init__("Nothing was decided: the selection changed since you confirmed it. "
                         + " ".join(changes) + " Look at the selection again and confirm anew.")
        self.changes = changes


class ReviewerNotFound(NotFound):
    """No reviewer by that id: only reviewers and leads have wellbeing pages."""

    code = "reviewer_not_found"
