"""In a real browser: first login enrols TOTP, log out, log in again, a wrong code is refused."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pyotp
import pytest

from bastion.auth import users
from bastion.auth.roles import Role
from bastion.clock import SystemClock
from bastion.config import Settings
from bastion.db import make_engine, make_sessionmaker
from bastion.web.app import create_app
from tests.conftest import PASSWORD, SECRET
from tests.livehttp import serve


@pytest.fixture
def live_url(tmp_path: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, database_url=sqlite_url, secret_key=SECRET)
    engine = make_engine(sqlite_url)
    with make_sessionmaker(engine)() as session:
        users.create_user(session, username="alice", role=Role.ADMIN, password=PASSWORD, email="", actor="test",
                          clock=SystemClock())
        session.commit()
    with serve(create_app(settings, engine=engine, background=True)) as url:
        yield url
    engine.dispose()


def _log_in(page, url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{url}/login")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")


def test_enrol_logout_login_and_wrong_code(page, live_url: str) -> None:  # type: ignore[no-untyped-def]
    _log_in(page, live_url)
    page.wait_for_url(re.compile(r"/account/totp$"))
    assert page.locator(".qr svg").count() == 1
    secret = page.inner_text("#totp-secret").strip()
    assert page.inner_text("#totp-uri").startswith("otpauth://totp/")
    page.fill("#code", pyotp.TOTP(secret).now())
    page.click("#enrol-submit")
    page.wait_for_url(re.compile(r"/$"))
    assert "Dashboard" in page.inner_text("#dashboard-title")

    page.click("#logout")
    page.wait_for_url(re.compile(r"/login$"))
    page.goto(f"{live_url}/")
    page.wait_for_url(re.compile(r"/login\?next=/$"))

    _log_in(page, live_url)
    page.wait_for_url(re.compile(r"/login/totp$"))
    page.fill("#code", "123456" if pyotp.TOTP(secret).now() != "123456" else "654321")
    page.click("#totp-submit")
    assert "not valid" in page.inner_text("#totp-error")
    page.goto(f"{live_url}/")  # still only half logged in
    page.wait_for_url(re.compile(r"/login/totp$"))

    # The enrolment used this 30-second step; the server allows one step of drift, so the
    # next step's code is fresh and not a replay.
    page.fill("#code", pyotp.TOTP(secret).at(time.time() + 30))
    page.click("#totp-submit")
    page.wait_for_url(re.compile(r"/$"))
    assert page.locator("text=Users").count() >= 1


def test_wrong_password_shows_a_generic_error(page, live_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_url}/login")
    page.fill("#username", "alice")
    page.fill("#password", "definitely-wrong-password")
    page.click("#login-submit")
    assert page.inner_text("#login-error") == "Invalid username or password."
