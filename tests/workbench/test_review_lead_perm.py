"""Lifting a reviewer's exposure cap is a lead's care of people (`review.lead`), not a media power."""

from __future__ import annotations

from fastapi.testclient import TestClient

from bastion.auth.permissions import PERMISSIONS, SENSITIVE, Perm, grantable_scopes
from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.orgsettings import set_value
from tests.conftest import api_login


def test_review_lead_is_the_leads_alone_and_sensitive() -> None:
    assert PERMISSIONS[Perm.REVIEW_LEAD] == frozenset({Role.LEAD})
    assert Perm.REVIEW_LEAD in SENSITIVE  # a key carries it only after a fresh second factor
    assert Perm.REVIEW_LEAD in grantable_scopes(Role.LEAD)
    assert Perm.REVIEW_LEAD not in grantable_scopes(Role.ADMIN)


def test_only_a_lead_may_lift_the_cap(app, sessions, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]
    with sessions() as db:
        set_value(db, "wellness.daily_cap", "1", actor="admin", clock=clock)
        db.commit()
    reviewer = user_factory(Role.REVIEWER)
    for role, expected in ((Role.REVIEWER, 403), (Role.ADMIN, 403), (Role.LEGAL, 403), (Role.LEAD, 303)):
        caller = TestClient(app)
        csrf = {"X-CSRF-Token": api_login(caller, user_factory(role), clock)}
        answer = caller.post(f"/review/exposure/{reviewer.id}/lift", data={"reason": "court deadline"},
                             headers=csrf, follow_redirects=False)
        assert answer.status_code == expected, role
