"""The throttle's arithmetic and storage: progressive delays, lockout, the quiet window, clearing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from bastion.auth import throttle
from bastion.auth.errors import AccountThrottled
from bastion.auth.login import Client, password_targets, second_factor_targets
from bastion.auth.models import AuthThrottle, User
from bastion.auth.throttle import Policy, Target
from bastion.clock import ManualClock

POLICY = Policy(account_failures=5, ip_failures=20, lockout=timedelta(minutes=15), window=timedelta(hours=1))


def test_delays_double_after_the_free_failures_and_cap_at_the_lockout() -> None:
    delays = [throttle.delay_after(n, 20, POLICY) for n in range(1, 21)]
    assert delays[:2] == [None, None]
    assert delays[2:6] == [timedelta(seconds=s) for s in (2, 4, 8, 16)]
    assert all(d is not None and d <= POLICY.lockout for d in delays[2:])
    assert delays[-1] == POLICY.lockout
    assert throttle.delay_after(5, 5, POLICY) == POLICY.lockout


def test_counting_blocks_then_the_window_forgets(db: Session, clock: ManualClock) -> None:
    target = [Target("account", "alice")]
    for _ in range(5):
        throttle.count_failure(db, target, POLICY, clock.now())
    db.commit()
    with pytest.raises(AccountThrottled) as raised:
        throttle.refuse_if_blocked(db, target, clock.now())
    assert raised.value.retry_after_seconds > 14 * 60
    clock.advance(timedelta(minutes=16))
    throttle.refuse_if_blocked(db, target, clock.now())  # the lock is over
    clock.advance(timedelta(hours=2))
    summary = throttle.count_failure(db, target, POLICY, clock.now())
    assert summary == {"account_failures": 1}  # a quiet spell forgot the earlier failures


def test_keys_are_stored_hashed_and_clear_removes_them(db: Session, clock: ManualClock) -> None:
    target = Target("ip", "203.0.113.7\x00evil")  # whatever text an attacker sends, only a hash is stored
    throttle.count_failure(db, [target], POLICY, clock.now())
    db.commit()
    row = db.query(AuthThrottle).one()
    assert row.key_hash == target.key_hash and "203" not in row.key_hash and row.failures == 1
    throttle.clear(db, [target])
    db.commit()
    assert db.query(AuthThrottle).count() == 0


def test_what_an_attempt_counts_against(db: Session, clock: ManualClock) -> None:
    user = User(id=7, username="Alice", role="reviewer", created_at=clock.now())
    stranger, known = Client("203.0.113.1"), Client("198.51.100.1", devices={7: "d3v1c3"})
    assert password_targets(" ALICE ", user, stranger) == [Target("account", "alice"), Target("ip", "203.0.113.1")]
    assert password_targets("nobody", None, stranger)[0] == Target("account", "nobody")
    assert password_targets("alice", user, known) == [Target("device", "d3v1c3")]
    assert second_factor_targets(user, stranger) == [Target("mfa", "7"), Target("mfa_ip", "203.0.113.1")]
    assert second_factor_targets(user, known) == [Target("mfa_device", "d3v1c3")]
