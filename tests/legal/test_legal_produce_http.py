"""The legal desk's production-side acts over the HTTP API and pages, with the demo platform on a real socket:
account lookups and their confirmation, typed errors when the platform is down."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bastion.auth.roles import Role
from tests.conftest import api_login, with_platform
from tests.legal.conftest import MUMBAI
from tests.legal.test_legal_resolution import NAMED


@pytest.fixture
def database_url(sqlite_url: str) -> str:
    """The HTTP API end to end on SQLite; the service test above covers PostgreSQL."""
    return sqlite_url


@pytest.fixture
def settings(settings, platform_url: str):  # type: ignore[no-untyped-def]
    return with_platform(settings, platform_url)


def test_staff_find_and_confirm_candidates_through_the_api_and_page(app, clock, user_factory) -> None:
    legal = TestClient(app)
    headers = {"X-CSRF-Token": api_login(legal, user_factory(Role.LEGAL), clock)}
    assert legal.post("/api/v1/legal/agencies", json=MUMBAI, headers=headers).status_code == 201
    created = legal.post("/api/v1/legal/requests", headers=headers, json={
        "instrument": "in_bnss_94", "requester_email": "si.patil@mumbaipolice.gov.in", "accounts": NAMED[:1],
        "categories": ["subscriber"]}).json()
    looked = legal.post(f"/api/v1/legal/requests/{created['id']}/account-lookups", headers=headers)
    assert looked.status_code == 200, looked.text
    [candidate] = looked.json()["candidates"]
    assert (candidate["account_id"], candidate["state"]) == ("acct-1002", "proposed")
    page = legal.get(f"/legal/requests/{created['id']}").text
    assert f'id="confirm-candidate-{candidate["id"]}"' in page and "@bob" in page
    confirmed = legal.post(f"/api/v1/legal/requests/{created['id']}/candidates/{candidate['id']}/confirm",
                           headers=headers)
    assert confirmed.json()["accounts"][0]["account_id"] == "acct-1002"
    again = legal.post(f"/api/v1/legal/requests/{created['id']}/account-lookups", headers=headers)
    assert again.status_code == 422 and "already resolved" in again.json()["detail"]

    auditor = TestClient(app)
    auditor_h = {"X-CSRF-Token": api_login(auditor, user_factory(Role.AUDITOR), clock)}
    assert auditor.post(f"/api/v1/legal/requests/{created['id']}/account-lookups", headers=auditor_h
                        ).status_code == 403


def test_a_platform_outage_is_a_typed_error_not_a_500(app, clock, user_factory) -> None:
    from bastion.platform import PlatformUnavailable

    class Down:
        def lookup_accounts(self, kind: str, value: str) -> None:
            raise PlatformUnavailable("connection refused")

    app.state.bastion.services["platform.connector_factory"] = Down
    legal = TestClient(app)
    headers = {"X-CSRF-Token": api_login(legal, user_factory(Role.LEGAL), clock)}
    created = legal.post("/api/v1/legal/requests", headers=headers, json={
        "instrument": "in_bnss_94", "requester_email": "x@mumbaipolice.gov.in", "accounts": NAMED[:1]}).json()
    response = legal.post(f"/api/v1/legal/requests/{created['id']}/account-lookups", headers=headers)
    assert response.status_code == 502 and response.json()["code"] == "platform_unavailable"
    assert "try again" in response.json()["detail"]
