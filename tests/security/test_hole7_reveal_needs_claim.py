"""Hole 7: a reviewer could reveal media of a case someone else held (or nobody held).

Now revealing an item, and fetching it unblurred, needs the case's live claim (or a review lead's
`media.reveal_any`); every reveal, every media fetch and every refused attempt is audited.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bastion.audit.models import AuditRecord
from bastion.auth.roles import Role
from tests.security.conftest import login, scanned_match


def test_revealing_needs_the_claim(live, user_factory, sessions) -> None:  # type: ignore[no-untyped-def]
    scanned_match(live, user_factory)
    alice, bob = user_factory(Role.REVIEWER), user_factory(Role.REVIEWER)
    alice_http, bob_http = live.client("198.51.100.40"), live.client("198.51.100.41")
    alice_csrf, bob_csrf = login(alice_http, alice, live.clock), login(bob_http, bob, live.clock)
    case = bob_http.get("/api/v1/cases").json()[0]
    item = bob_http.get(f"/api/v1/cases/{case['id']}").json()["items"][0]
    reveal, full = f"/cases/{case['id']}/items/{item['id']}/reveal", f"/cases/{case['id']}/items/{item['id']}/full"

    unclaimed = bob_http.post(reveal, headers={**bob_csrf, "Accept": "application/json"})
    assert unclaimed.status_code == 403 and unclaimed.json()["code"] == "claim_required"

    assert alice_http.post(f"/api/v1/cases/{case['id']}/claim", headers=alice_csrf).status_code == 200
    held = bob_http.post(reveal, headers={**bob_csrf, "Accept": "application/json"})
    assert held.status_code == 403 and held.json()["code"] == "claim_required"
    assert bob_http.get(full).status_code == 403
    assert bob_http.get(f"/cases/{case['id']}/items/{item['id']}/thumb").status_code == 200  # blurred stays open

    assert alice_http.post(reveal, headers=alice_csrf).status_code == 303
    assert alice_http.get(full).status_code == 200

    # The claim lapses: what Alice revealed is no longer hers to see unblurred.
    live.clock.advance(timedelta(hours=2))
    assert alice_http.get(full).status_code == 403

    with sessions() as db:
        actions = list(db.scalars(select(AuditRecord.action).where(AuditRecord.action.like("media.%"))))
    assert actions.count("media.refused") == 4 and "media.reveal" in actions and "media.view" in actions
    assert "media.thumbnail" in actions


def test_a_review_lead_may_reveal_without_claiming(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    scanned_match(live, user_factory, seed=43)
    lead = user_factory(Role.LEAD)
    http = live.client("198.51.100.42")
    csrf = login(http, lead, live.clock)
    case = http.get("/api/v1/cases").json()[0]
    item = http.get(f"/api/v1/cases/{case['id']}").json()["items"][0]
    assert http.post(f"/cases/{case['id']}/items/{item['id']}/reveal", headers=csrf).status_code == 303
    assert http.get(f"/cases/{case['id']}/items/{item['id']}/full").status_code == 200
