"""Login throttling as an attacker meets it: spraying, unknown names, and lockout as a weapon.

Before the fix: one address could try a password against every account with no limit, and
anyone could lock any account (the admin's included) with five bad passwords.
"""

from __future__ import annotations

from datetime import timedelta

from bastion.auth.roles import Role
from tests.security.conftest import PASSWORD, login, wrong_codes


def test_spraying_one_password_across_accounts_is_throttled_per_address(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    targets = [user_factory(Role.AUDITOR, enrol=False).username for _ in range(12)]
    targets += [f"nobody-{n}" for n in range(13)]  # unknown names count too
    sprayer = live.client("203.0.113.80")
    statuses = [sprayer.post("/api/v1/auth/login", json={"username": name, "password": "Summer2026!!x"}).status_code
                for name in targets]
    assert 429 in statuses and statuses.count(401) <= 3, statuses
    # The address is held back for an account it never tried, even with the right password ...
    fresh = user_factory(Role.AUDITOR, enrol=False)
    assert sprayer.post("/api/v1/auth/login", json={"username": fresh.username, "password": PASSWORD}).status_code == 429
    # ... while everyone else logs in as usual.
    assert live.client("198.51.100.50").post(
        "/api/v1/auth/login", json={"username": fresh.username, "password": PASSWORD}).status_code == 200


def test_unknown_and_known_names_meet_the_same_throttle(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    known = user_factory(Role.AUDITOR, enrol=False).username
    answers = {}
    for index, name in enumerate((known, "no-such-user")):
        statuses = []
        for attempt in range(4):  # from a new address each time: this is the per-account count
            http = live.client(f"203.0.113.{90 + index * 10 + attempt}")
            statuses.append(http.post("/api/v1/auth/login", json={"username": name, "password": "wrong-wrong-1"}).status_code)
        answers[name] = statuses
    assert answers[known] == answers["no-such-user"] == [401, 401, 401, 429]


def test_an_attacker_cannot_lock_a_person_out_of_their_own_browser(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    admin = user_factory(Role.ADMIN)
    browser = live.client("198.51.100.60")
    login(browser, admin, live.clock)  # the admin's usual browser now holds a device cookie
    browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": browser.get("/api/v1/me").json()["csrf_token"]})

    attacker = live.client("203.0.113.81")
    for _ in range(30):  # bad passwords, waiting out the delays, until the account is locked
        response = attacker.post("/api/v1/auth/login", json={"username": admin.username, "password": "guess-guess-1"})
        if response.status_code == 429 and int(response.headers["retry-after"]) > 60:
            break
        if response.status_code == 429:
            live.clock.advance(timedelta(seconds=int(response.headers["retry-after"])))
    else:
        raise AssertionError("the account never locked")
    # The attacker also knows the password and burns the second factor's allowance.
    for code in wrong_codes(admin, live.clock, 5):
        live.client("203.0.113.82").post("/api/v1/auth/login",
                                         json={"username": admin.username, "password": PASSWORD, "totp_code": code})
    # A new, unrecognised client is locked out ...
    stranger = live.client("198.51.100.61").post(
        "/api/v1/auth/login", json={"username": admin.username, "password": PASSWORD, "totp_code": admin.code(live.clock)})
    assert stranger.status_code == 429
    # ... but the admin's own browser still gets in.
    assert browser.post("/api/v1/auth/login", json={"username": admin.username, "password": PASSWORD,
                                                    "totp_code": admin.code(live.clock)}).status_code == 200


def test_a_stolen_device_cookie_buys_no_extra_guesses(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    victim = user_factory(Role.AUDITOR, enrol=False)
    browser = live.client("198.51.100.62")
    login(browser, victim, live.clock)
    thief = live.client("203.0.113.83")
    thief.cookies.set("bastion_device", browser.cookies["bastion_device"])
    statuses = [thief.post("/api/v1/auth/login", json={"username": victim.username, "password": f"guess-{n:08d}"}
                           ).status_code for n in range(10)]
    assert statuses.count(401) <= 3 and statuses[-1] == 429
    forged = live.client("203.0.113.84")
    forged.cookies.set("bastion_device", f"{victim.id}.deadbeefdeadbeef.{int(live.clock.now().timestamp())}.AAAA")
    assert forged.post("/api/v1/auth/login", json={"username": victim.username, "password": "x" * 12}).status_code == 401
