"""Hole 2: API keys bypassed the second factor and the media rules.

Before the fix a reviewer's key (minted by an admin, default scopes) fetched thumbnails, reveals and
full media with no second factor, and an admin, denied media on purpose, could mint a reviewer a key
with `media.view` and look through it. Keys also never expired. Every door is tried here: the JSON
API, the pages, the HMA-compatible API and the officer portal.
"""

from __future__ import annotations

from datetime import timedelta

from bastion.auth.roles import Role
from tests.security.conftest import api_key, current_code, login, scanned_match, wrong_codes


def _admin(live, user_factory):  # type: ignore[no-untyped-def]
    http = live.client("192.0.2.2")
    return http, login(http, user_factory(Role.ADMIN), live.clock)


def _first_item(live, reviewer_http) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    case = reviewer_http.get("/api/v1/cases").json()[0]
    item = reviewer_http.get(f"/api/v1/cases/{case['id']}").json()["items"][0]
    return case["id"], item["id"]


def test_a_reviewers_key_reaches_no_media(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    scanned_match(live, user_factory)
    reviewer = user_factory(Role.REVIEWER)
    session = live.client()
    csrf = login(session, reviewer, live.clock)
    case_id, item_id = _first_item(live, session)
    assert session.post(f"/api/v1/cases/{case_id}/claim", headers=csrf).status_code == 200

    admin, admin_csrf = _admin(live, user_factory)
    key = api_key(live, admin, admin_csrf, reviewer.username)  # default scopes, minted by an admin
    thief = live.client("203.0.113.70")
    thief.headers["Authorization"] = f"Bearer {key}"
    assert thief.get(f"/cases/{case_id}/items/{item_id}/thumb").status_code == 403
    assert thief.post(f"/cases/{case_id}/items/{item_id}/reveal").status_code == 403
    assert thief.get(f"/cases/{case_id}/items/{item_id}/full").status_code == 403
    assert thief.get(f"/api/v1/cases/{case_id}").status_code == 200  # what the key may do still works


def test_an_admin_cannot_mint_anyone_a_key_with_media_or_account_data(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    admin, csrf = _admin(live, user_factory)
    reviewer, legal, officer = user_factory(Role.REVIEWER), user_factory(Role.LEGAL), user_factory(Role.OFFICER)
    for owner, scope in ((reviewer, "media.view"), (legal, "legal.read"), (legal, "legal.manage"),
                         (officer, "officer.portal")):
        response = admin.post("/api/v1/apikeys", json={"owner": owner.username, "name": "x", "scopes": [scope]},
                              headers=csrf)
        assert response.status_code == 403, (scope, response.text)
    # Beyond the admin's own role too (the admin does not review cases).
    beyond = admin.post("/api/v1/apikeys", json={"owner": reviewer.username, "name": "x", "scopes": ["cases.review"]},
                        headers=csrf)
    assert beyond.status_code == 403 and "beyond your own role" in beyond.json()["detail"]
    # The officer portal door: an officer's key (default scopes) does not open the portal.
    officer_key = api_key(live, admin, csrf, officer.username)
    portal = live.client("203.0.113.71")
    portal.headers["Authorization"] = f"Bearer {officer_key}"
    assert portal.get("/portal").status_code == 403
    # And a key cannot mint keys, whatever it says.
    admin_key = api_key(live, admin, csrf, user_factory(Role.ADMIN).username)
    minting = live.client("203.0.113.72")
    minting.headers["Authorization"] = f"Bearer {admin_key}"
    assert minting.post("/api/v1/apikeys", json={"owner": reviewer.username, "name": "y"}).status_code == 403


def test_only_the_owner_with_a_fresh_code_mints_a_short_lived_media_key(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    scanned_match(live, user_factory, seed=42)
    reviewer = user_factory(Role.REVIEWER)
    session = live.client()
    csrf = login(session, reviewer, live.clock)
    case_id, item_id = _first_item(live, session)

    wrong = session.post("/api/v1/account/apikeys", headers=csrf, json={
        "name": "tooling", "scopes": ["media.view"], "totp_code": wrong_codes(reviewer, live.clock, 1)[0]})
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_second_factor"
    too_long = session.post("/api/v1/account/apikeys", headers=csrf, json={
        "name": "tooling", "scopes": ["media.view"], "totp_code": reviewer.code(live.clock), "expires_in_minutes": 600})
    assert too_long.status_code == 422
    minted = session.post("/api/v1/account/apikeys", headers=csrf, json={
        "name": "tooling", "scopes": ["media.view", "cases.read"], "totp_code": reviewer.code(live.clock)})
    assert minted.status_code == 201, minted.text
    assert minted.json()["step_up"] is True
    tool = live.client("198.51.100.30")
    tool.headers["Authorization"] = f"Bearer {minted.json()['key']}"
    assert tool.get(f"/cases/{case_id}/items/{item_id}/thumb").status_code == 200

    live.clock.advance(timedelta(minutes=61))
    expired = tool.get(f"/cases/{case_id}/items/{item_id}/thumb", headers={"Accept": "application/json"})
    assert expired.status_code == 401 and expired.json()["code"] == "api_key_expired"


def test_keys_expire_and_say_so_on_every_door(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    admin, csrf = _admin(live, user_factory)
    platform = user_factory(Role.PLATFORM)
    too_long = admin.post("/api/v1/apikeys", headers=csrf,
                          json={"owner": platform.username, "name": "x", "expires_in_days": 400})
    assert too_long.status_code == 422 and "at most 365 days" in too_long.json()["detail"]
    key = api_key(live, admin, csrf, platform.username, expires_in_days=2)
    machine = live.client("192.0.2.20")
    machine.headers["Authorization"] = f"Bearer {key}"
    assert machine.get("/api/v1/banks").status_code == 200
    assert machine.get("/c/banks").status_code == 200  # the HMA-compatible API

    live.clock.advance(timedelta(days=3))
    api = machine.get("/api/v1/banks")
    assert api.status_code == 401 and api.json()["code"] == "api_key_expired"
    hma = machine.get("/c/banks")
    assert hma.status_code == 401 and "expired" in hma.json()["message"]
    admin, _ = _admin(live, user_factory)  # three days on, the admin's session has ended too
    listed = {k["prefix"]: k for k in admin.get("/api/v1/apikeys").json()}
    assert listed[key.split("_")[1]]["status"] == "expired"


def test_minting_codes_are_throttled_like_logins(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    """The mint endpoint must not be an unthrottled oracle for the second factor."""
    reviewer = user_factory(Role.REVIEWER)
    session = live.client("203.0.113.73")
    csrf = login(session, reviewer, live.clock)
    statuses = [session.post("/api/v1/account/apikeys", headers=csrf,
                             json={"name": "x", "totp_code": code}).status_code
                for code in wrong_codes(reviewer, live.clock, 10)]
    assert statuses.count(401) <= 3 and statuses[-1] == 429, statuses
    refused = session.post("/api/v1/account/apikeys", headers=csrf,
                           json={"name": "x", "totp_code": current_code(reviewer, live.clock)})
    assert refused.status_code == 429
