"""The API docs were public, pulled Swagger UI from a CDN, and no response carried security headers."""

from __future__ import annotations

import re

from bastion.auth.roles import Role
from tests.livehttp import serve
from tests.security.conftest import Live, login


def test_the_api_schema_and_docs_need_a_signed_in_session(live, user_factory) -> None:  # type: ignore[no-untyped-def]
    stranger = live.client("203.0.113.90")
    schema = stranger.get("/openapi.json", headers={"Accept": "application/json"})
    assert schema.status_code == 401 and "paths" not in schema.text
    for path in ("/docs", "/redoc"):
        page = stranger.get(path)
        assert page.status_code == 303 and page.headers["location"].startswith("/login"), path

    staff = live.client("198.51.100.80")
    login(staff, user_factory(Role.COMPLIANCE), live.clock)
    assert "/api/v1/scan" in staff.get("/openapi.json").json()["paths"]
    for path in ("/docs", "/redoc"):
        html = staff.get(path).text
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources), sources
        assert "<script>" not in html
        for source in sources:
            assert staff.get(source).status_code == 200, source


def _headers_of(http, paths):  # type: ignore[no-untyped-def]
    return {path: http.get(path).headers for path in paths}


def test_every_response_carries_the_security_headers(live) -> None:  # type: ignore[no-untyped-def]
    http = live.client("203.0.113.91")
    paths = ("/login", "/api/v1/me", "/static/bastion.css", "/healthz", "/no-such-page", "/c/banks")
    for path, headers in _headers_of(http, paths).items():
        csp = headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0], path
        assert headers.get("x-frame-options") == "DENY", path
        assert headers.get("x-content-type-options") == "nosniff", path
        assert headers.get("referrer-policy") == "no-referrer", path
        assert "strict-transport-security" not in headers, path  # plain HTTP: no HSTS


def test_hsts_is_sent_when_cookies_are_secure(settings, clock, engine) -> None:  # type: ignore[no-untyped-def]
    from bastion.web.app import create_app

    app = create_app(settings.model_copy(update={"cookie_secure": True}), clock=clock, engine=engine)
    with serve(app) as url:
        headers = Live(url, app, clock).client().get("/login").headers
    assert headers["strict-transport-security"].startswith("max-age=31536000")
