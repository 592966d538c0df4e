"""Who may see a case's media unblurred: its live claim holder, or a lead."""

from __future__ import annotations

from datetime import timedelta

from bastion.cases.models import Case
from bastion.cases.service import may_reveal
from bastion.clock import ManualClock


def test_only_the_live_claim_holder_or_a_lead_may_reveal() -> None:
    clock = ManualClock()
    case = Case(claimed_by=7, claim_expires_at=clock.now() + timedelta(minutes=30))
    assert may_reveal(case, 7, any_case=False, clock=clock)
    assert not may_reveal(case, 8, any_case=False, clock=clock)
    assert may_reveal(case, 8, any_case=True, clock=clock)
    clock.advance(timedelta(minutes=31))
    assert not may_reveal(case, 7, any_case=False, clock=clock)
    assert not may_reveal(Case(claimed_by=None, claim_expires_at=None), 7, any_case=False, clock=clock)
