"""API keys: shown once, stored hashed, scoped, revocable, last use recorded and audited."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.audit.models import AuditRecord
from bastion.auth.models import ApiKey
from bastion.auth.roles import Role
from bastion.clock import ManualClock
from tests.conftest import api_login


def _create(client: TestClient, csrf: str, owner: str, scopes: list[str] | None = None) -> dict:
    body: dict = {"owner": owner, "name": "scanner"}
    if scopes is not None:
        body["scopes"] = scopes
    response = client.post("/api/v1/apikeys", json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201, response.text
    return response.json()


def test_key_lifecycle(client: TestClient, user_factory, clock: ManualClock, db: Session, app) -> None:
    admin = user_factory(Role.ADMIN)
    auditor = user_factory(Role.AUDITOR, enrol=False)
    csrf = api_login(client, admin, clock)
    created = _create(client, csrf, auditor.username)
    secret = created["key"]

    stored = db.scalar(select(ApiKey).where(ApiKey.id == created["id"]))
    assert stored is not None and stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in stored.key_hash and stored.last_used_at is None
    assert all("key" not in k for k in client.get("/api/v1/apikeys").json())  # never shown again

    machine = TestClient(app)
    assert machine.get("/api/v1/audit", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert machine.get("/api/v1/me", headers={"X-API-Key": secret}).json()["via"] == "apikey"
    db.expire_all()
    assert db.get(ApiKey, created["id"]).last_used_at is not None  # type: ignore[union-attr]
    assert "apikey.use" in db.scalars(select(AuditRecord.action)).all()

    assert client.delete(f"/api/v1/apikeys/{created['id']}", headers={"X-CSRF-Token": csrf}).status_code == 200
    revoked = machine.get("/api/v1/audit", headers={"Authorization": f"Bearer {secret}"})
    assert revoked.status_code == 401


def test_scopes_limit_a_key_below_its_role(client: TestClient, user_factory, clock: ManualClock, app) -> None:
    admin = user_factory(Role.ADMIN)
    auditor = user_factory(Role.AUDITOR, enrol=False)
    csrf = api_login(client, admin, clock)
    key = _create(client, csrf, auditor.username, scopes=["settings.read"])["key"]
    machine = TestClient(app)
    assert machine.get("/api/v1/settings", headers={"X-API-Key": key}).status_code == 200
    assert machine.get("/api/v1/audit", headers={"X-API-Key": key}).status_code == 403


def test_a_key_cannot_exceed_its_owner(client: TestClient, user_factory, clock: ManualClock) -> None:
    admin = user_factory(Role.ADMIN)
    platform = user_factory(Role.PLATFORM)
    csrf = api_login(client, admin, clock)
    response = client.post("/api/v1/apikeys", json={"owner": platform.username, "name": "x",
                                                    "scopes": ["users.manage"]}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 422 and "cannot exceed" in response.json()["detail"]


def test_forged_and_malformed_keys_are_refused(client: TestClient) -> None:
    for key in ("bst_deadbeef_notreal", "garbage", "bst_x"):
        response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_api_key_requests_need_no_csrf_token(client: TestClient, user_factory, clock: ManualClock, app) -> None:
    admin = user_factory(Role.ADMIN)
    csrf = api_login(client, admin, clock)
    key = _create(client, csrf, admin.username)["key"]
    machine = TestClient(app)
    response = machine.put("/api/v1/settings/org.name", json={"value": "Acme"}, headers={"X-API-Key": key})
    assert response.status_code == 200 and response.json()["value"] == "Acme"


def test_who_may_mint_which_scopes(sessions, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    """Never beyond the owner, never beyond the minter, sensitive only for the owner with a fresh code."""
    import pytest

    from bastion.auth import apikeys, users
    from bastion.errors import PermissionDenied
    from tests.conftest import make_user

    reviewer = make_user(sessions, clock, Role.REVIEWER)
    with sessions() as db:
        owner = users.get_user(db, reviewer.id)
        admin = apikeys.Minter(actor="admin", role=Role.ADMIN, user_id=999)
        console = apikeys.Minter(actor="cli:root", role=None)
        herself = apikeys.Minter(actor=owner.username, role=Role.REVIEWER, user_id=owner.id, step_up=True)
        assert "media.view" not in apikeys.allowed_scopes(owner, admin)
        assert "cases.review" not in apikeys.allowed_scopes(owner, admin)  # the admin does not review
        assert "cases.review" in apikeys.allowed_scopes(owner, console)
        assert "media.view" not in apikeys.allowed_scopes(owner, console)
        assert "media.view" in apikeys.allowed_scopes(owner, herself)
        assert "media.view" not in apikeys.parse_scopes(owner, None, herself)  # must be asked for by name
        with pytest.raises(PermissionDenied):
            apikeys.parse_scopes(owner, ["media.view"], admin)
        issued = apikeys.create_key(db, owner, name="t", scopes=["media.view"], minter=herself, clock=clock)
        assert issued.row.step_up and issued.row.expires_at - clock.now() <= apikeys.Lifetimes().step_up_max
        plain = apikeys.create_key(db, owner, name="p", scopes=None, minter=console, clock=clock)
        assert not plain.row.step_up and plain.row.expires_at - clock.now() == apikeys.Lifetimes().default
        db.commit()


def test_a_key_holding_a_sensitive_scope_without_step_up_is_refused_on_use(
    client: TestClient, user_factory, clock: ManualClock, db: Session, app  # type: ignore[no-untyped-def]
) -> None:
    """A row written before the rules (or by hand) still cannot reach media: the check runs on every use."""
    admin = user_factory(Role.ADMIN)
    legal = user_factory(Role.LEGAL)
    csrf = api_login(client, admin, clock)
    created = _create(client, csrf, legal.username, scopes=["cases.read"])
    row = db.get(ApiKey, created["id"])
    assert row is not None
    row.scopes = "cases.read legal.read"
    db.commit()
    machine = TestClient(app)
    headers = {"X-API-Key": created["key"]}
    assert machine.get("/api/v1/cases", headers=headers).status_code == 200
    assert machine.get("/api/v1/legal/requests", headers=headers).status_code == 403
