"""In a real browser, under the real Content-Security-Policy: the API docs render from this origin,
the account pages work, and nothing needs an inline script (the `page` fixture fails on any violation)."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest

from bastion.auth.roles import Role
from bastion.clock import SystemClock
from bastion.config import Settings
from bastion.db import make_engine, make_sessionmaker
from bastion.web.app import create_app
from tests.conftest import PASSWORD, SECRET
from tests.browser.signin import sign_in, staff_with_totp
from tests.livehttp import serve

TOTP_SECRET = pyotp.random_base32()


@pytest.fixture
def live_url(tmp_path: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, database_url=sqlite_url, secret_key=SECRET)
    engine = make_engine(sqlite_url)
    with make_sessionmaker(engine)() as session:
        staff_with_totp(session, "carol", Role.ADMIN, TOTP_SECRET, SystemClock(), email="carol@example.org")
        session.commit()
    requests: list[str] = []
    with serve(create_app(settings, engine=engine, background=True)) as url:
        yield url, requests
    engine.dispose()


def _log_in(page, url: str) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, url, "carol", TOTP_SECRET)


def test_api_docs_render_from_this_origin_only(page, live_url) -> None:  # type: ignore[no-untyped-def]
    url, _ = live_url
    page.goto(f"{url}/docs")
    page.wait_for_url(re.compile(r"/login\?next=/docs$"))  # signed-in staff only
    _log_in(page, url)
    outside: list[str] = []
    page.on("request", lambda request: outside.append(request.url) if not request.url.startswith(url) else None)
    page.goto(f"{url}/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Bastion" in page.inner_text(".swagger-ui .info .title")
    page.goto(f"{url}/redoc")
    page.wait_for_selector("h1")
    assert "Bastion" in page.inner_text("h1")
    # ReDoc hard-codes its vendor's logo from a CDN; the policy blocks it (nothing leaves), which is the point.
    blocked = [v for v in page.csp_violations if "cdn.redoc.ly/redoc/logo-mini.svg" in v]
    assert len(blocked) == len(page.csp_violations)
    page.csp_violations.clear()
    assert [u for u in outside if not u.startswith(("data:", "blob:", "https://cdn.redoc.ly/redoc/logo-mini.svg"))] == []


def test_change_password_page_under_the_policy(page, live_url) -> None:  # type: ignore[no-untyped-def]
    url, _ = live_url
    _log_in(page, url)
    page.click("#account-link")
    page.wait_for_url(re.compile(r"/account/password$"))
    page.fill("#current-password", PASSWORD)
    page.fill("#new-password", "a-new-password-for-carol")
    page.fill("#totp-code", pyotp.TOTP(TOTP_SECRET).at(SystemClock().now().timestamp() + 30))
    page.click("#password-submit")
    assert "password is changed" in page.inner_text("#password-changed")
    page.goto(f"{url}/admin/users")  # still signed in: the session was replaced, not ended
    assert page.locator("button.reset-password").count() >= 1
