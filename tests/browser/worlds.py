"""A live Bastion for the legal desk's browser tests: mail over a local SMTP server, the demo platform over
HTTP, legal staff with second factors, and one agency in the directory. No setting is changed from its
default beyond where mail goes and where the platform is."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyotp
import pytest
from pydantic import SecretStr

from bastion.auth import totp, users
from bastion.auth.roles import Role
from bastion.clock import SystemClock
from bastion.config import Settings
from bastion.db import make_engine, make_sessionmaker
from bastion.dev.platform import create_demo_platform_app, seed_demo_platform
from bastion.dev.serving import BackgroundServer
from bastion.legal import directory
from bastion.web.app import create_app
from tests.conftest import PASSWORD, SECRET
from tests.livehttp import free_port, serve
from tests.mail.smtpd import LocalSmtp


@contextmanager
def legal_world(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch, *, agency: dict[str, Any],
                staff: dict[str, str], platform_secret: str, staff_email: bool = False
                ) -> Iterator[tuple[str, str, LocalSmtp, Any, Any]]:
    """(Bastion's URL, the platform's URL, the SMTP server, the engine, the app); `staff` maps names to TOTP secrets."""
    smtp = LocalSmtp()
    smtp.start()
    for key, value in {"BASTION_MAIL_BACKEND": "smtp", "BASTION_SMTP_HOST": "127.0.0.1",
                       "BASTION_SMTP_PORT": str(smtp.port), "BASTION_SMTP_SECURITY": "none"}.items():
        monkeypatch.setenv(key, value)
    platform_db = tmp_path / "platform.sqlite3"
    seed_demo_platform(platform_db)
    port = free_port()
    try:
        with BackgroundServer(create_demo_platform_app(platform_db, platform_secret)) as platform:
            settings = Settings(data_dir=tmp_path / "var", database_url=sqlite_url, secret_key=SECRET,
                                base_url=f"http://127.0.0.1:{port}", platform_url=platform.base_url,
                                platform_secret=SecretStr(platform_secret), ticker_interval_seconds=0.2)
            engine = make_engine(sqlite_url)
            clock = SystemClock()
            with make_sessionmaker(engine)() as session:
                for name, secret in staff.items():
                    user = users.create_user(session, username=name, role=Role.LEGAL, password=PASSWORD,
                                             email=f"{name}@bastion.example" if staff_email else "", actor="test",
                                             clock=clock)
                    user.totp_secret, user.totp_enabled = totp.encrypt_secret(secret, SECRET.encode()), True
                directory.set_agency(session, actor="test", clock=clock, **agency)
                session.commit()
            app = create_app(settings, engine=engine, background=True)
            with serve(app, port=port) as url:
                yield url, platform.base_url, smtp, engine, app
            engine.dispose()
    finally:
        smtp.stop()


def mail_to(smtp: LocalSmtp, to: str, contains: str, seconds: float = 30) -> str:
    """The text of the first mail to `to` whose text or subject contains `contains` (bounded wait)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for message in list(smtp.received):
            text = str(message.message.get_content())
            if to in str(message.message["To"]) and contains in (text + str(message.message["Subject"])):
                return text
        time.sleep(0.2)
    raise AssertionError(f"no mail to {to} containing {contains!r}")


def register_and_confirm(page: Any, url: str, smtp: LocalSmtp, *, name: str, email: str, phone: str,
                         password: str) -> None:
    """An officer registers at the portal and opens the confirmation link mailed to them."""
    page.goto(f"{url}/portal/register")
    page.fill("#name", name)
    page.fill("#email", email)
    page.fill("#phone", phone)
    page.fill("#password", password)
    page.click("#register-submit")
    assert page.inner_text("#portal-title") == "Check your mail"
    link = re.search(r"(http://\S+/portal/confirm\?token=\S+)", mail_to(smtp, email, "confirm"))
    assert link is not None, "no confirmation link in the mail"
    page.goto(link.group(1))
    assert page.inner_text("#portal-title") == "Address confirmed"


def first_login_enrols(page: Any, url: str, *, email: str, password: str) -> None:
    """An approved officer's first login: enrol the second factor, land on the portal."""
    page.goto(f"{url}/login")
    page.fill("#username", email)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r"/account/totp$"))
    page.fill("#code", pyotp.TOTP(page.inner_text("#totp-secret").strip()).now())
    page.click("#enrol-submit")
    page.wait_for_url(re.compile(r"/portal$"))
