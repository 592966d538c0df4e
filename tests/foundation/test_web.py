"""Web behaviour that is not about one domain: CSRF, error shapes, probes, pages."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bastion.auth.roles import Role
from bastion.clock import ManualClock
from tests.conftest import PASSWORD, api_login


def _form_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "form has no CSRF field"
    return match.group(1)


def test_login_form_needs_the_csrf_token(client: TestClient, user_factory) -> None:
    user = user_factory(Role.AUDITOR, enrol=False)
    page = client.get("/login")
    token = _form_csrf(page.text)
    missing = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert missing.status_code == 403
    wrong = client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": "x"})
    assert wrong.status_code == 403
    ok = client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token},
                     follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/"


def test_session_form_posts_need_the_session_token(client: TestClient, user_factory, clock: ManualClock) -> None:
    admin = user_factory(Role.ADMIN)
    csrf = api_login(client, admin, clock)
    form = {"username": "newperson", "role": "auditor", "password": "another-long-password"}
    assert client.post("/admin/users", data=form).status_code == 403
    assert client.post("/admin/users", data={**form, "csrf_token": "forged"}).status_code == 403
    page_token = _form_csrf(client.get("/admin/users").text)
    assert page_token == csrf
    created = client.post("/admin/users", data={**form, "csrf_token": csrf}, follow_redirects=False)
    assert created.status_code == 303
    assert "newperson" in client.get("/admin/users").text


def test_json_with_a_session_cookie_needs_the_csrf_header(client: TestClient, user_factory, clock: ManualClock) -> None:
    admin = user_factory(Role.ADMIN)
    csrf = api_login(client, admin, clock)
    body = {"value": "Acme"}
    assert client.put("/api/v1/settings/org.name", json=body).status_code == 403
    assert client.put("/api/v1/settings/org.name", json=body, headers={"X-CSRF-Token": csrf}).status_code == 200


def test_unknown_api_route_is_a_json_404(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["code"] == "not_found"


def test_unknown_page_is_an_html_404(client: TestClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "text/html" in response.headers["content-type"]


def test_malformed_json_is_a_422_naming_the_field(client: TestClient, user_factory, clock: ManualClock) -> None:
    admin = user_factory(Role.ADMIN)
    csrf = api_login(client, admin, clock)
    response = client.post("/api/v1/users", json={"username": "x", "role": "admin", "email": 5},
                           headers={"X-CSRF-Token": csrf})
    assert response.status_code == 422
    assert any(e["field"] == "email" for e in response.json()["errors"])
    broken = client.post("/api/v1/users", content=b"{not json", headers={"X-CSRF-Token": csrf,
                                                                         "content-type": "application/json"})
    assert broken.status_code == 422 and broken.json()["code"] == "invalid_input"


def test_unauthenticated_page_redirects_to_login_and_api_says_401(client: TestClient) -> None:
    page = client.get("/admin/users", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=/admin/users")
    api = client.get("/api/v1/users")
    assert api.status_code == 401 and api.json()["code"] == "not_authenticated"


def test_probes(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_readyz_reports_pending_migrations(client: TestClient, engine: Engine) -> None:
    with engine.begin() as connection:
        current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        response = client.get("/readyz")
        assert response.status_code == 503 and response.json()["status"] == "migrations_pending"
    finally:  # the PostgreSQL database is shared by the session's tests, and truncation leaves this table alone
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": current})


def test_openapi_docs_are_for_signed_in_staff_only(client: TestClient, user_factory, clock) -> None:  # type: ignore[no-untyped-def]
    for path in ("/docs", "/redoc", "/openapi.json"):
        anonymous = client.get(path, follow_redirects=False)
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login"), path
    assert client.get("/openapi.json", headers={"Accept": "application/json"}).status_code == 401
    api_login(client, user_factory(Role.AUDITOR), clock)
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text
    assert "<script>" not in docs.text  # started by /static/docs-init.js: the CSP allows no inline script
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs-assets/redoc.standalone.js").status_code == 200
    assert "/api/v1/users" in client.get("/openapi.json").json()["paths"]


def test_officers_get_no_api_docs(client: TestClient, user_factory, clock) -> None:  # type: ignore[no-untyped-def]
    api_login(client, user_factory(Role.OFFICER), clock)
    assert client.get("/openapi.json").status_code == 403


def test_password_only_session_reaches_nothing_but_the_second_factor(client: TestClient, user_factory) -> None:
    user = user_factory(Role.REVIEWER)
    token = _form_csrf(client.get("/login").text)
    response = client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False)
    assert response.headers["location"] == "/login/totp"
    assert client.get("/", follow_redirects=False).headers["location"] == "/login/totp"
    assert client.get("/api/v1/me").json()["code"] == "second_factor_required"
    # Someone holding only the password must not be able to replace the enrolled factor.
    assert client.get("/account/totp", follow_redirects=False).headers["location"] == "/login/totp"


def test_the_production_signing_key_is_published(client: TestClient) -> None:
    document = client.get("/.well-known/bastion/production-key.json")
    assert document.status_code == 200
    body = document.json()
    assert "BEGIN PUBLIC KEY" in str(body) and body
