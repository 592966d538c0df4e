"""Every registered route, under every role, against the one permission table.

A route added without `needs(...)` fails here; so does a route whose enforcement
disagrees with the table.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from bastion.auth.permissions import PERMISSIONS, Perm
from bastion.auth.roles import MACHINE_ROLES, Role
from bastion.web.app import create_app
from bastion.web.guard import iter_routes, route_permission
from tests.conftest import SECRET, api_login

#: Static files (our CSS and scripts, the API docs' bundles): they serve no data of ours. The API docs
#: themselves (/docs, /redoc, /openapi.json) are our routes, guarded like any other.
FRAMEWORK_PATHS = {"/static", "/docs-assets"}


def _api_routes(app) -> list[tuple[str, APIRoute]]:  # type: ignore[no-untyped-def]
    routes = [(path, r) for path, r in iter_routes(app.routes) if isinstance(r, APIRoute)]
    assert any(path == "/api/v1/users" for path, _ in routes), "route discovery found nothing: FastAPI changed?"
    return routes


def test_every_route_declares_exactly_one_permission(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from bastion.config import Settings

    app = create_app(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/x.db", secret_key=SECRET))
    walked = iter_routes(app.routes)
    assert len(walked) > 20
    for path, route in walked:
        if isinstance(route, APIRoute):
            perms = route_permission(route)
            assert len(perms) == 1, f"{sorted(route.methods)} {path} declares {perms}: use exactly one needs()"
            assert perms[0] in PERMISSIONS, f"{path}: {perms[0]} has no row in the permission table"
        else:
            assert isinstance(route, (Route, Mount)) and path in FRAMEWORK_PATHS, f"unguarded route {path}"


def _concrete(path: str) -> str:
    path = re.sub(r"\{[^}:]+:uuid\}", "00000000-0000-4000-8000-000000000000", path)  # e.g. an async scan's id
    return re.sub(r"\{[^}]+\}", "999999", path)


@pytest.mark.parametrize("role", [r for r in Role])
def test_each_role_is_allowed_or_denied_as_the_table_says(role: Role, client: TestClient, user_factory, clock,
                                                          app) -> None:
    """Logged in as `role` (second factor passed), call every route and compare with the table."""
    if role in MACHINE_ROLES:
        admin = user_factory(Role.ADMIN)
        csrf = api_login(client, admin, clock)
        machine = user_factory(role)
        key = client.post("/api/v1/apikeys", json={"owner": machine.username, "name": "walk"},
                          headers={"X-CSRF-Token": csrf}).json()["key"]
        caller, headers = TestClient(app), {"X-API-Key": key}
    else:
        user = user_factory(role)
        if role is Role.OFFICER:  # every officer account is backed by a registered address
            from bastion.legal import portal

            with app.state.bastion.sessions() as session:
                portal.register_officer(session, email=f"{user.username}@police.example", name="Officer", phone="",
                                        clock=clock, base_url="http://testserver", user_id=user.id)
                session.commit()
        caller = TestClient(app)
        headers = {"X-CSRF-Token": api_login(caller, user, clock)}
    mismatches = []
    for path, route in _api_routes(app):
        perm = route_permission(route)[0]
        if path in ("/logout", "/api/v1/auth/logout", "/api/v1/auth/login", "/login"):
            continue  # would end or replace the walking session; covered by the login tests
        expected = perm is Perm.PUBLIC or role in PERMISSIONS[perm]
        for method in sorted(route.methods - {"HEAD"}):
            response = caller.request(method, _concrete(path), headers=headers, json={},
                                      follow_redirects=False)
            denied = response.status_code in (401, 403)
            if denied == expected:
                mismatches.append(f"{method} {path}: {response.status_code} ({perm})")
    assert not mismatches, f"role {role}: " + "; ".join(mismatches)
