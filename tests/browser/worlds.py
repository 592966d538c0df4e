"""A live Bastion for the legal desk's browser tests: mail over a local SMTP server, the demo platform over
HTTP, legal staff with second factors, and one agency in the directory. No setting is changed from its
default beyond where mail goes and where the platform is."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
