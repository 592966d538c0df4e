"""From a scan to a removed post: match, case, claim, reveal, confirm, outbox, demo platform."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session

from bastion.auth.roles import Role
from bastion.cases.models import CaseItem
from bastion.clock import ManualClock
from bastion.executor import TaskContext
from bastion.media import hash_media
from bastion.platform import HttpPlatformConnector
from bastion.timers import Ticker
from tests.conftest import api_key, api_login

POST, ACCOUNT = "post-2002", "acct-1001"


def _scan_platform_post(client: TestClient, headers: dict[str, str], platform: HttpPlatformConnector) -> dict:
    media = platform.fetch_media(POST)
    client.post("/api/v1/banks", json={"name": "KNOWN"}, headers=headers)
    client.post("/api/v1/banks/KNOWN/entries",
                json={"signals": {"pdq": hash_media(media).pdq, "md5": hash_media(media).md5}, "classification": "A1",
                      "source": "industry"},
                headers=headers)
    response = client.post("/api/v1/scan", files={"file": ("p.jpg", media)},
                           data={"content_id": POST, "account_id": ACCOUNT, "client_ip": "203.0.113.55"},
                           headers=headers)
    assert response.status_code == 200 and response.json()["matches"], response.text
    return response.json()


def _deliver(app, sessions, clock: ManualClock, rounds: int = 4) -> None:  # type: ignore[no-untyped-def]
    ticker = Ticker(TaskContext(sessions=sessions, clock=clock, services=app.state.bastion.services))
    for _ in range(rounds):
        ticker.tick()


def test_confirmed_case_removes_the_post_and_suspends_the_account(
    client: TestClient, app, sessions, clock: ManualClock, db: Session, user_factory,  # type: ignore[no-untyped-def]
    platform: HttpPlatformConnector,
) -> None:
    scan = _scan_platform_post(client, api_key(client, sessions, clock), platform)
    reviewer = user_factory(Role.REVIEWER)
    csrf = {"X-CSRF-Token": api_login(client, reviewer, clock)}

    case = client.post("/api/v1/cases/next", headers=csrf).json()
    assert case["account_id"] == ACCOUNT and case["status"] == "in_review"
    detail = client.get(f"/api/v1/cases/{case['id']}").json()
    item = detail["items"][0]
    assert item["scan_id"] == scan["scan_id"] and item["category"] == "A1" and item["bank"] == "KNOWN"
    stored = db.get(CaseItem, item["id"])
    assert stored is not None and stored.media_ref.startswith("evidence:")  # kept encrypted in the vault

    blurred = client.get(f"/cases/{case['id']}/items/{item['id']}/thumb")
    thumb = Image.open(io.BytesIO(blurred.content))
    assert blurred.status_code == 200 and thumb.mode == "L" and max(thumb.size) <= 160
    assert blurred.headers["cache-control"] == "no-store, private"
    assert client.get(f"/cases/{case['id']}/items/{item['id']}/full").status_code == 403  # not revealed yet

    refused = client.post(f"/api/v1/cases/{case['id']}/items/{item['id']}/decision",
                          json={"decision": "confirm", "classification": "A1"}, headers=csrf)
    assert refused.status_code == 403 and refused.json()["code"] == "not_revealed"
    assert client.post(f"/cases/{case['id']}/items/{item['id']}/reveal", headers=csrf,
                       follow_redirects=False).status_code == 303
    full = client.get(f"/cases/{case['id']}/items/{item['id']}/full")
    assert full.status_code == 200 and Image.open(io.BytesIO(full.content)).mode == "L"  # first step: sharp, grey
    assert client.post(f"/cases/{case['id']}/items/{item['id']}/colour", headers=csrf,
                       follow_redirects=False).status_code == 303
    full = client.get(f"/cases/{case['id']}/items/{item['id']}/full")
    assert full.status_code == 200 and Image.open(io.BytesIO(full.content)).mode == "RGB"  # second step: colour

    confirmed = client.post(f"/api/v1/cases/{case['id']}/items/{item['id']}/decision",
                            json={"decision": "confirm", "classification": "A1"}, headers=csrf)
    assert confirmed.status_code == 200, confirmed.text
    concluded = client.post(f"/api/v1/cases/{case['id']}/conclude", json={"restrict": "suspend"}, headers=csrf)
    assert concluded.status_code == 200 and concluded.json()["status"] == "confirmed", concluded.text
    kinds = {a["kind"] for a in concluded.json()["actions"]}
    assert kinds == {"remove_content", "restrict_account", "preserve_account"}

    _deliver(app, sessions, clock)
    assert platform.get_content(POST).status == "removed"
    assert platform.get_account(ACCOUNT).status == "suspended"
    final = client.get(f"/api/v1/cases/{case['id']}").json()
    assert final["status"] == "actioned"
    vault = app.state.bastion.services["evidence.vault"]
    preserved = vault.items_about(db, f"case:{case['id']}")
    assert len(preserved) == 1 and preserved[0].sha256 == hash_media(platform.fetch_media(POST)).sha256
    assert {e.action for e in vault.custody(db, preserved[0].id)} >= {"store"}

    # a re-upload is caught by the platform's own bank now
    again = client.post("/api/v1/scan", files={"file": ("p.jpg", platform.fetch_media(POST))},
                        headers=api_key(client, sessions, clock))
    assert "OWN_CONFIRMED" in {m["bank"] for m in again.json()["matches"]}


def test_a_decision_on_a_case_someone_else_holds_names_them(
    client: TestClient, app, sessions, clock: ManualClock, user_factory, platform: HttpPlatformConnector  # type: ignore[no-untyped-def]
) -> None:
    _scan_platform_post(client, api_key(client, sessions, clock), platform)
    alice, bob = user_factory(Role.REVIEWER), user_factory(Role.REVIEWER)
    alice_client, bob_client = TestClient(app), TestClient(app)
    alice_csrf = {"X-CSRF-Token": api_login(alice_client, alice, clock)}
    bob_csrf = {"X-CSRF-Token": api_login(bob_client, bob, clock)}
    case = alice_client.post("/api/v1/cases/next", headers=alice_csrf).json()
    item = alice_client.get(f"/api/v1/cases/{case['id']}").json()["items"][0]
    response = bob_client.post(f"/api/v1/cases/{case['id']}/items/{item['id']}/decision",
                               json={"decision": "not_match", "reason": "looks different"}, headers=bob_csrf)
    assert response.status_code == 409 and alice.username in response.json()["detail"]
    assert bob_client.post("/api/v1/cases/next", headers=bob_csrf).json() is None


def test_media_is_only_for_reviewers_and_legal(
    client: TestClient, app, sessions, clock: ManualClock, user_factory, platform: HttpPlatformConnector  # type: ignore[no-untyped-def]
) -> None:
    _scan_platform_post(client, api_key(client, sessions, clock), platform)
    for role, allowed in ((Role.LEGAL, True), (Role.COMPLIANCE, False), (Role.ADMIN, False)):
        caller = TestClient(app)
        api_login(caller, user_factory(role), clock)
        case = caller.get("/api/v1/cases").json()[0]
        item = caller.get(f"/api/v1/cases/{case['id']}").json()["items"][0]
        status = caller.get(f"/cases/{case['id']}/items/{item['id']}/thumb").status_code
        assert (status == 200) == allowed, (role, status)


def test_platform_down_the_action_waits_and_the_case_shows_it(
    client: TestClient, app, sessions, clock: ManualClock, user_factory, platform: HttpPlatformConnector  # type: ignore[no-untyped-def]
) -> None:
    """With the platform unreachable, actions wait and retry; the case page lists their state."""
    from pydantic import SecretStr

    _scan_platform_post(client, api_key(client, sessions, clock), platform)
    reviewer = user_factory(Role.REVIEWER)
    csrf = {"X-CSRF-Token": api_login(client, reviewer, clock)}
    case = client.post("/api/v1/cases/next", headers=csrf).json()
    item = client.get(f"/api/v1/cases/{case['id']}").json()["items"][0]
    client.post(f"/cases/{case['id']}/items/{item['id']}/reveal", headers=csrf)
    client.post(f"/api/v1/cases/{case['id']}/items/{item['id']}/decision",
                json={"decision": "confirm", "classification": "B1"}, headers=csrf)
    client.post(f"/api/v1/cases/{case['id']}/conclude", json={"restrict": "limit", "preserve": False}, headers=csrf)
    from bastion.actions.tasks import CONNECTOR_FACTORY

    # The app's own services: the sweeper publishes each action as a row task, which the app's relay runs with them.
    services = app.state.bastion.services
    real = services[CONNECTOR_FACTORY]
    services[CONNECTOR_FACTORY] = lambda: HttpPlatformConnector("http://127.0.0.1:9", SecretStr("x").get_secret_value())
    try:
        Ticker(TaskContext(sessions=sessions, clock=clock, services=services)).tick()
    finally:
        services[CONNECTOR_FACTORY] = real
    page = client.get(f"/cases/{case['id']}")
    assert 'data-status="failed_retrying"' in page.text and "Failed, will retry" in page.text  # a title, not the key
    assert client.get(f"/api/v1/cases/{case['id']}").json()["status"] == "confirmed"
