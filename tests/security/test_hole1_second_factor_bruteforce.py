"""Hole 1: the second factor could be brute-forced, because a correct password cleared the failure count.

The attacker has the victim's password (phished) and guesses TOTP codes. Before the fix: 30 wrong
codes in a row, each answered 401, then the right one accepted. Now second-factor failures count on
their own, per account and per address, and a correct password does not clear them.
"""

from __future__ import annotations

from datetime import timedelta

from bastion.auth.roles import Role
from tests.security.conftest import PASSWORD, current_code, form_token, wrong_codes


def test_guessing_codes_with_the_right_password_gets_throttled_then_locked(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    victim = user_factory(Role.REVIEWER)
    attacker = live.client("203.0.113.66")
    answers = []
    for guess in wrong_codes(victim, live.clock, 30):  # as fast as the server answers
        response = attacker.post("/api/v1/auth/login",
                                 json={"username": victim.username, "password": PASSWORD, "totp_code": guess})
        answers.append(response.status_code)
    assert answers.count(401) <= 3 and answers[-1] == 429, answers  # a few free guesses, then made to wait

    # A patient attacker waits out every delay: the account's second factor locks after five failures.
    wrong, waited = answers.count(401), 0
    guesses = iter(wrong_codes(victim, live.clock, 60)[10:])
    while True:
        response = attacker.post("/api/v1/auth/login",
                                 json={"username": victim.username, "password": PASSWORD, "totp_code": next(guesses)})
        if response.status_code == 429:
            wait = int(response.headers["retry-after"])
            if wait > 60:
                break  # locked
            live.clock.advance(timedelta(seconds=wait))
            waited += wait
            continue
        assert response.status_code == 401, response.text
        wrong += 1
    assert wrong == 5 and waited > 0

    # Even the right code is refused while the second factor is locked.
    right = attacker.post("/api/v1/auth/login",
                          json={"username": victim.username, "password": PASSWORD,
                                "totp_code": current_code(victim, live.clock)})
    assert right.status_code == 429 and right.json()["code"] == "throttled"
    assert int(right.headers["retry-after"]) > 60


def test_the_form_path_cannot_be_reset_by_logging_in_again(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    """Re-entering the password between batches of guesses used to clear the count; it must not."""
    victim = user_factory(Role.LEGAL)
    attacker = live.client("203.0.113.67")
    guesses = iter(wrong_codes(victim, live.clock, 40))
    statuses = []
    for _ in range(5):  # five batches: password, then three guesses
        page = attacker.get("/login")
        attacker.post("/login", data={"username": victim.username, "password": PASSWORD,
                                      "csrf_token": form_token(page.text)})
        token = form_token(attacker.get("/login/totp").text)
        for _ in range(3):
            statuses.append(attacker.post("/login/totp", data={"code": next(guesses), "csrf_token": token}).status_code)
    assert statuses.count(401) <= 3 and statuses[-1] == 429, statuses


def test_after_the_lock_the_right_code_works_once_and_replays_are_refused(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    victim = user_factory(Role.REVIEWER)
    attacker = live.client("203.0.113.68")
    for guess in wrong_codes(victim, live.clock, 8):
        response = attacker.post("/api/v1/auth/login",
                                 json={"username": victim.username, "password": PASSWORD, "totp_code": guess})
        if response.status_code == 429:
            live.clock.advance(timedelta(seconds=int(response.headers["retry-after"])))
    live.clock.advance(timedelta(minutes=16))
    body = {"username": victim.username, "password": PASSWORD, "totp_code": victim.code(live.clock)}
    assert live.client("198.51.100.20").post("/api/v1/auth/login", json=body).status_code == 200
    replay = live.client("198.51.100.21").post("/api/v1/auth/login", json=body)
    assert replay.status_code == 401 and replay.json()["code"] == "invalid_second_factor"


def test_codes_guessed_across_accounts_from_one_address_are_throttled(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    """With several phished passwords, spreading guesses over accounts does not escape the address's count."""
    victims = [user_factory(Role.REVIEWER) for _ in range(6)]
    attacker = live.client("203.0.113.69")
    statuses = []
    for victim in victims:
        for guess in wrong_codes(victim, live.clock, 4):  # under each account's own limit
            statuses.append(attacker.post("/api/v1/auth/login", json={
                "username": victim.username, "password": PASSWORD, "totp_code": guess}).status_code)
    assert 429 in statuses and statuses.count(401) < 24, statuses
