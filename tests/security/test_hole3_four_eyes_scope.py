"""Hole 3: after a second person approved a disclosure, the first could add accounts and collect their data.

Played as the attacker would, over HTTP against a live server and the demo platform: Alice decides,
Bob approves, Alice adds an account nobody approved and asks for collection. Now the edit voids the
approval, collection is refused, and the platform is never asked about the added account; only a
new decision and a new second approval bring it in.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bastion.auth.roles import Role
from bastion.legal import portal
from bastion.legal.models import Collected, Requester
from tests.conftest import with_platform
from tests.legal.conftest import MUMBAI, PDF
from tests.security.conftest import login


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """The demo platform runs beside SQLite here; tests/legal/test_legal_scope.py covers PostgreSQL."""
    return sqlite_url


@pytest.fixture
def settings(settings, platform_url: str):  # type: ignore[no-untyped-def]
    return with_platform(settings, platform_url)


def test_an_approval_does_not_stretch_to_accounts_added_after_it(live, user_factory, sessions, platform_url) -> None:  # type: ignore[no-untyped-def]
    alice_http, bob_http = live.client("198.51.100.60"), live.client("198.51.100.61")
    alice_csrf = login(alice_http, user_factory(Role.LEGAL), live.clock)
    bob_csrf = login(bob_http, user_factory(Role.LEGAL), live.clock)
    assert alice_http.post("/api/v1/legal/agencies", json=MUMBAI, headers=alice_csrf).status_code == 201
    notice = {"instrument": "in_bnss_94", "source": "email", "requester_email": "si.patil@mumbaipolice.gov.in",
              "requester_phone": "+91 22 5550 0123", "issuing_authority": "Mumbai Police Cyber Cell",
              "issuing_officer": "SI A. Patil", "case_number": "FIR 112/2026", "due_date": "2026-01-20",
              "accounts": [{"kind": "user_id", "value": "acct-1001"}], "categories": ["subscriber"],
              "date_from": "2024-02-01", "date_to": "2024-03-31"}
    rid = alice_http.post("/api/v1/legal/requests", json=notice, headers=alice_csrf).json()["id"]
    assert alice_http.post(f"/api/v1/legal/requests/{rid}/documents", headers=alice_csrf,
                           files={"file": ("notice.pdf", PDF, "application/pdf")}).status_code == 201
    with sessions() as session:
        requester = session.scalars(select(Requester).where(Requester.email == notice["requester_email"])).one()
        _, token, _ = portal.register_officer(session, email=requester.email, name="SI A. Patil",
                                              phone="+91 22 5550 0123", clock=live.clock,
                                              base_url="https://bastion.example")
        portal.confirm_email(session, token, clock=live.clock)
        session.commit()

    decided = alice_http.post(f"/api/v1/legal/requests/{rid}/decision", headers=alice_csrf,
                              json={"outcome": "produce"})
    assert decided.status_code == 200, decided.text
    assert bob_http.post(f"/api/v1/legal/requests/{rid}/approve", headers=bob_csrf).status_code == 200

    # the attack: widen the approved request, then collect
    widened = alice_http.patch(f"/api/v1/legal/requests/{rid}", headers=alice_csrf,
                               json={"accounts": [{"kind": "user_id", "value": "acct-1002"}]})
    assert widened.status_code == 200
    refused = alice_http.post(f"/api/v1/legal/requests/{rid}/collect", headers=alice_csrf)
    assert refused.status_code == 409, refused.text
    with sessions() as session:
        assert session.scalars(select(Collected).where(Collected.request_id == rid)).all() == []
    timeline = alice_http.get(f"/api/v1/legal/requests/{rid}").json()
    assert timeline["status"] not in ("approved", "collected")

    # the honest path: decide again, a second person approves again, and only then is it collected
    assert alice_http.post(f"/api/v1/legal/requests/{rid}/decision", headers=alice_csrf,
                           json={"outcome": "produce"}).status_code == 200
    assert bob_http.post(f"/api/v1/legal/requests/{rid}/approve", headers=bob_csrf).status_code == 200
    collected = alice_http.post(f"/api/v1/legal/requests/{rid}/collect", headers=alice_csrf)
    assert collected.status_code == 200, collected.text
    with sessions() as session:
        accounts = {row.account_id for row in session.scalars(select(Collected).where(Collected.request_id == rid))}
    assert accounts == {"acct-1001", "acct-1002"}
