"""Logging in: passwords, second factors, throttling, sessions, and what the audit log records."""

from __future__ import annotations

from datetime import timedelta

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.audit.models import AuditRecord
from bastion.auth.models import User
from bastion.auth.roles import Role
from bastion.clock import ManualClock
from tests.conftest import PASSWORD, api_login


def _actions(db: Session) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)))


def test_wrong_password_is_a_generic_401(client: TestClient, user_factory, db: Session) -> None:
    user = user_factory(Role.AUDITOR)
    wrong = client.post("/api/v1/auth/login", json={"username": user.username, "password": "nope-nope-nope"})
    unknown = client.post("/api/v1/auth/login", json={"username": "nobody", "password": "nope-nope-nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"] == "Invalid username or password."
    assert _actions(db).count("auth.login_failed") == 2


def _fail_until_locked(client: TestClient, clock: ManualClock, body: dict, limit: int = 5) -> None:
    """Wrong attempts, waiting out each progressive delay, until the lockout itself."""
    failures = 0
    while failures < limit:
        response = client.post("/api/v1/auth/login", json=body)
        if response.status_code == 429:
            wait = int(response.headers["retry-after"])
            assert wait <= 60, "a delay before the lockout is seconds, not the lockout"
            clock.advance(timedelta(seconds=wait))
            continue
        assert response.status_code == 401, response.text
        failures += 1


def test_throttled_after_repeated_failures_even_with_the_right_password(
    client: TestClient, user_factory, clock: ManualClock, db: Session
) -> None:
    user = user_factory(Role.AUDITOR, enrol=False)
    _fail_until_locked(client, clock, {"username": user.username, "password": "x" * 12})
    locked = client.post("/api/v1/auth/login", json={"username": user.username, "password": PASSWORD})
    assert locked.status_code == 429 and locked.json()["code"] == "throttled"
    assert int(locked.headers["retry-after"]) > 14 * 60
    clock.advance(timedelta(minutes=16))
    assert client.post("/api/v1/auth/login", json={"username": user.username, "password": PASSWORD}).status_code == 200
    assert "auth.throttled" in _actions(db)


def test_delays_grow_after_the_first_few_failures(client: TestClient, user_factory, clock: ManualClock) -> None:
    user = user_factory(Role.AUDITOR, enrol=False)
    body = {"username": user.username, "password": "y" * 12}
    for _ in range(3):
        assert client.post("/api/v1/auth/login", json=body).status_code == 401
    waits = []
    for _ in range(2):
        early = client.post("/api/v1/auth/login", json=body)
        assert early.status_code == 429
        waits.append(int(early.headers["retry-after"]))
        clock.advance(timedelta(seconds=waits[-1]))
        assert client.post("/api/v1/auth/login", json=body).status_code == 401
    assert waits[0] < waits[1] <= 60


def test_second_factor_required_and_checked(client: TestClient, user_factory, clock: ManualClock) -> None:
    user = user_factory(Role.REVIEWER)
    no_code = client.post("/api/v1/auth/login", json={"username": user.username, "password": PASSWORD})
    assert no_code.status_code == 401 and no_code.json()["code"] == "second_factor_required"
    bad = client.post("/api/v1/auth/login",
                      json={"username": user.username, "password": PASSWORD, "totp_code": "000000"})
    assert bad.status_code == 401 and bad.json()["code"] == "invalid_second_factor"
    api_login(client, user, clock)
    assert client.get("/api/v1/me").json()["username"] == user.username


def test_a_totp_code_cannot_be_replayed(client: TestClient, user_factory, clock: ManualClock) -> None:
    user = user_factory(Role.LEGAL)
    code = user.code(clock)
    body = {"username": user.username, "password": PASSWORD, "totp_code": code}
    assert client.post("/api/v1/auth/login", json=body).status_code == 200
    replay = TestClient(client.app).post("/api/v1/auth/login", json=body)
    assert replay.status_code == 401 and replay.json()["code"] == "invalid_second_factor"


def test_mfa_roles_cannot_log_in_before_enrolling(client: TestClient, user_factory) -> None:
    user = user_factory(Role.ADMIN, enrol=False)
    response = client.post("/api/v1/auth/login", json={"username": user.username, "password": PASSWORD})
    assert response.status_code == 401 and "Enrol" in response.json()["detail"]


def test_machine_clients_cannot_log_in_with_a_password(client: TestClient, user_factory) -> None:
    user = user_factory(Role.PLATFORM)
    response = client.post("/api/v1/auth/login", json={"username": user.username, "password": ""})
    assert response.status_code == 422  # an empty password is not even a candidate


def test_session_cookie_is_httponly_and_samesite(client: TestClient, user_factory, clock: ManualClock) -> None:
    user = user_factory(Role.AUDITOR)
    body = {"username": user.username, "password": PASSWORD, "totp_code": user.code(clock)}
    response = client.post("/api/v1/auth/login", json=body)
    cookie = response.headers["set-cookie"]
    assert "bastion_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie


def test_session_expires_after_inactivity(client: TestClient, user_factory, clock: ManualClock) -> None:
    user = user_factory(Role.AUDITOR)
    api_login(client, user, clock)
    assert client.get("/api/v1/me").status_code == 200
    clock.advance(timedelta(hours=13))
    assert client.get("/api/v1/me").status_code == 401


def test_logout_ends_the_session(client: TestClient, user_factory, clock: ManualClock) -> None:
    user = user_factory(Role.AUDITOR)
    csrf = api_login(client, user, clock)
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.get("/api/v1/me").status_code == 401


def test_role_change_ends_sessions_and_is_audited(
    client: TestClient, user_factory, clock: ManualClock, db: Session
) -> None:
    admin, target = user_factory(Role.ADMIN), user_factory(Role.AUDITOR)
    other = TestClient(client.app)
    api_login(other, target, clock)
    csrf = api_login(client, admin, clock)
    response = client.patch(f"/api/v1/users/{target.id}", json={"role": "compliance"}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200 and response.json()["role"] == "compliance"
    assert other.get("/api/v1/me").status_code == 401
    assert "user.set_role" in _actions(db)


def test_disabled_user_cannot_log_in(client: TestClient, user_factory, clock: ManualClock, db: Session) -> None:
    user = user_factory(Role.AUDITOR)
    db.get(User, user.id).disabled = True  # type: ignore[union-attr]
    db.commit()
    body = {"username": user.username, "password": PASSWORD, "totp_code": pyotp.TOTP(user.totp_secret).now()}
    assert client.post("/api/v1/auth/login", json=body).status_code == 401


def test_login_and_failed_login_are_audited(client: TestClient, user_factory, clock: ManualClock, db: Session) -> None:
    user = user_factory(Role.AUDITOR)
    client.post("/api/v1/auth/login", json={"username": user.username, "password": "wrong-password-x"})
    api_login(client, user, clock)
    actions = _actions(db)
    assert "auth.login_failed" in actions and "auth.login" in actions
