"""Review policy and wellness defaults: organisation settings, with per-reviewer overrides."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion import audit
from bastion.cases.models import ReviewerPreference
from bastion.clock import Clock
from bastion.orgsettings import get_value
from bastion.orgsettings.store import register

CLASSIFICATIONS = ("A1", "A2", "B1", "B2")

register("review.removal_hours", int, 24,
         "Hours from a case opening to the removal deadline (IT Rules 2021 Rule 3(2)(b): 24 hours).")
register("review.removal_policy", str, "IT Rules 2021 Rule 3(2)(b)", "Citation shown with the removal clock.")
register("review.claim_minutes", int, 15, "Minutes a claimed case stays with its reviewer without activity.")
register("review.action_without_viewing", str, "",
         "Space-separated bank classifications (e.g. 'A1 A2') whose exact matches may be confirmed without viewing.")
register("review.own_bank", str, "OWN_CONFIRMED", "Bank that confirmed items are added to, so re-uploads are caught.")
register("wellness.blur", bool, True, "Show media blurred until a reviewer reveals an item.")
register("wellness.greyscale", bool, True, "Show media in greyscale until a reviewer reveals an item.")
register("wellness.daily_soft_limit", int, 100, "Items a reviewer may reveal in a day before a break is suggested.")
register("wellness.daily_cap", int, 0,
         "Items a reviewer may reveal in a day before no more cases are assigned to them (0: no cap). "
         "A review lead may lift it for the day, with a reason.")
register("review.break_after_minutes", int, 45,
         "Minutes of a working session (from the first reveal after the last break) before the review pages "
         "suggest a break.", minimum=5, maximum=240)
register("review.idle_reset_minutes", int, 15,
         "Minutes without a reveal (or watched video) after which the working session ends, as if the "
         "reviewer had taken a break: stepping away resets the break timer.", minimum=5, maximum=120)

#: Settings a reviewer may override for themselves (never the review policy).
PERSONAL = ("wellness.blur", "wellness.greyscale", "wellness.daily_soft_limit")


def setting_for(session: Session, user_id: int, key: str) -> Any:
    """A wellness setting as it applies to this reviewer: their override, else the organisation's."""
    if key in PERSONAL:
        row = session.scalar(select(ReviewerPreference).where(ReviewerPreference.user_id == user_id,
                                                              ReviewerPreference.key == key))
        if row is not None:
            from bastion.orgsettings.store import REGISTRY

            return REGISTRY[key].coerce(row.value)
    return get_value(session, key)


def set_personal(session: Session, user_id: int, key: str, value: str, *, actor: str, clock: Clock) -> None:
    """A reviewer's own override of a wellness setting (audited: it changes what they are shown)."""
    from bastion.errors import InvalidInput
    from bastion.orgsettings.store import REGISTRY

    if key not in PERSONAL:
        raise InvalidInput(f"{key} is not a personal setting; ask an admin to change the organisation default.")
    REGISTRY[key].coerce(value)
    row = session.scalar(select(ReviewerPreference).where(ReviewerPreference.user_id == user_id,
                                                          ReviewerPreference.key == key))
    if row is None:
        session.add(ReviewerPreference(user_id=user_id, key=key, value=value))
    else:
        row.value = value
    audit.record(session, actor=actor, action="wellness.preference", subject=f"user:{user_id}",
                 details={"key": key, "value": value}, clock=clock)
