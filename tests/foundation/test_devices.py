"""Device tokens: signed, bound to one account, expiring, and a few per browser."""

from __future__ import annotations

from datetime import timedelta

from bastion.auth import devices
from bastion.clock import ManualClock

SECRET = b"instance-secret"


def test_a_token_is_recognised_only_for_its_account_and_only_while_fresh(clock: ManualClock) -> None:
    token = devices.issue(7, clock.now(), SECRET)
    assert list(devices.recognised(token, clock.now(), SECRET)) == [7]
    assert devices.recognised(token, clock.now(), b"another-instance") == {}
    user, device, issued, _ = token.split(".")
    assert devices.recognised(f"8.{device}.{issued}.{token.split('.')[3]}", clock.now(), SECRET) == {}
    clock.advance(devices.LIFETIME + timedelta(days=1))
    assert devices.recognised(token, clock.now(), SECRET) == {}


def test_garbage_is_ignored(clock: ManualClock) -> None:
    for cookie in (None, "", "a.b.c", "x.y.z.w", "~~~", "7.dev.notanumber.sig"):
        assert devices.recognised(cookie, clock.now(), SECRET) == {}


def test_one_cookie_remembers_the_last_few_accounts(clock: ManualClock) -> None:
    cookie = ""
    for user_id in range(1, 8):
        cookie = devices.remember(cookie, devices.issue(user_id, clock.now(), SECRET), user_id)
    assert sorted(devices.recognised(cookie, clock.now(), SECRET)) == [3, 4, 5, 6, 7]
    again = devices.remember(cookie, devices.issue(5, clock.now(), SECRET), 5)
    assert len(again.split("~")) == devices.MAX_TOKENS and again.startswith("5.")
