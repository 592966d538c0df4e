"""Shared fixtures: databases on SQLite (always) and PostgreSQL (when configured), apps, users.

PostgreSQL runs when BASTION_TEST_POSTGRES_URL is set (CI sets it). If it is set but
the server cannot be reached, those tests fail: they never silently skip in CI.
Each test gets a freshly migrated database: a copy of a migrated SQLite template file,
or a PostgreSQL database migrated once per session and truncated between tests.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth import totp, users
from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.config import Settings
from bastion.db import make_engine, make_sessionmaker, migrate
from bastion.db.base import Base
from bastion.db.engine import normalise_url

PG_ENV = "BASTION_TEST_POSTGRES_URL"
SECRET = "test-instance-secret-0123456789abcdef"
PASSWORD = "a-long-test-password-1"


def require_module(name: str, why: str) -> Any:
    """Import an optional test dependency: a missing one skips the module locally and fails it under CI."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed; CI must run these tests ({why})", pytrace=False)
        pytest.skip(f"{name} is not installed: {why}", allow_module_level=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests parametrised on PostgreSQL are marked, so `-m postgres` selects them."""
    for item in items:
        if "[postgres" in item.nodeid or "-postgres" in item.nodeid:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated once, dropped at the end."""
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set; CI must run the PostgreSQL tests (see .ci/run)")
        pytest.skip(f"{PG_ENV} is not set (CI sets it; locally: eval \"$(scripts/test-services.sh)\")")
    name = f"bastion_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:  # fails loudly if the server is unreachable
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(normalise_url(base)).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate.upgrade(engine)
    _SEEDED[url] = _seeded_rows(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "bastion.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    _truncate(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated SQLite database, for tests that are about something other than storage."""
    path = tmp_path / "bastion.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


_SEEDED: dict[str, dict[str, list[dict[str, object]]]] = {}


def _seeded_rows(engine: Engine) -> dict[str, list[dict[str, object]]]:
    """Rows the migrations themselves insert (the audit head, catalogues), to restore after each truncate."""
    seeded: dict[str, list[dict[str, object]]] = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = [dict(r._mapping) for r in connection.execute(table.select())]
            if rows:
                seeded[table.name] = rows
    return seeded


def _truncate(url: str) -> None:
    engine = make_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        for table in Base.metadata.sorted_tables:
            if table.name in _SEEDED.get(url, {}):
                connection.execute(table.insert(), _SEEDED[url][table.name])
                for column in table.primary_key.columns:  # keep sequences past the restored ids
                    sequence = connection.execute(
                        text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}).scalar()
                    if sequence:
                        connection.execute(text(f'SELECT setval(:s, (SELECT MAX("{column.name}") FROM "{table.name}"))'),
                                           {"s": sequence})
    engine.dispose()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def db(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as session:
        yield session


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "var", database_url=database_url, secret_key=SECRET, index_refresh_seconds=0)


@dataclass
class TestUser:
    """A user the test created, with what it needs to log in."""

    id: int
    username: str
    role: Role
    password: str
    totp_secret: str | None

    def code(self, clock: ManualClock) -> str:
        """A fresh TOTP code: the clock moves one step so codes are never replays."""
        assert self.totp_secret, "user has no second factor"
        clock.advance(timedelta(seconds=30))
        return pyotp.TOTP(self.totp_secret).at(clock.now())


def make_user(sessions: sessionmaker[Session], clock: ManualClock, role: Role, *, username: str | None = None,
              enrol: bool = True) -> TestUser:
    """Create a user directly through the service (second factor enrolled unless told otherwise)."""
    name = username or f"{role.value}-{uuid.uuid4().hex[:6]}"
    with sessions() as session:
        password = None if role is Role.PLATFORM else PASSWORD
        user = users.create_user(session, username=name, role=role, password=password, email="", actor="test",
                                 clock=clock)
        secret = None
        if enrol and role is not Role.PLATFORM:
            secret = totp.new_secret()
            user.totp_secret = totp.encrypt_secret(secret, SECRET.encode())
            user.totp_enabled = True
        session.commit()
        return TestUser(user.id, name, role, PASSWORD, secret)


@pytest.fixture
def user_factory(sessions: sessionmaker[Session], clock: ManualClock):  # type: ignore[no-untyped-def]
    def factory(role: Role, **kwargs: object) -> TestUser:
        return make_user(sessions, clock, role, **kwargs)  # type: ignore[arg-type]

    return factory


@pytest.fixture
def app(settings: Settings, clock: ManualClock, engine: Engine):  # type: ignore[no-untyped-def]
    from bastion.web.app import create_app

    return create_app(settings, clock=clock, engine=engine)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as test_client:
        yield test_client


def api_login(client: TestClient, user: TestUser, clock: ManualClock) -> str:
    """Log `client` in through the JSON API; returns the session's CSRF token."""
    body = {"username": user.username, "password": user.password}
    if user.totp_secret:
        body["totp_code"] = user.code(clock)
    response = client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


def api_key(client: TestClient, sessions: sessionmaker[Session], clock: ManualClock, role: Role = Role.PLATFORM,
            scopes: list[str] | None = None) -> dict[str, str]:
    """Headers carrying a fresh API key of a new user with `role` (created through the admin API)."""
    admin = make_user(sessions, clock, Role.ADMIN)
    owner = make_user(sessions, clock, role, enrol=False)
    admin_client = TestClient(client.app)
    csrf = api_login(admin_client, admin, clock)
    body: dict[str, object] = {"owner": owner.username, "name": "test key"}
    if scopes is not None:
        body["scopes"] = scopes
    response = admin_client.post("/api/v1/apikeys", json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['key']}"}


@pytest.fixture
def platform_headers(client: TestClient, sessions: sessionmaker[Session], clock: ManualClock) -> dict[str, str]:
    return api_key(client, sessions, clock)


# -- the demo platform, over real HTTP ------------------------------------------------------------

PLATFORM_SECRET = "demo-platform-shared-secret-for-tests"


@pytest.fixture(scope="session")
def platform_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded demo-platform database, copied for each test that runs the platform."""
    from bastion.dev.platform import seed_demo_platform

    path = tmp_path_factory.mktemp("demo-platform") / "platform.sqlite3"
    seed_demo_platform(path)
    return path


@pytest.fixture
def platform_url(platform_template: Path, tmp_path: Path) -> Iterator[str]:
    """The demo platform on a free loopback port, with its own copy of the seeded data."""
    from bastion.dev.platform import create_demo_platform_app
    from bastion.dev.serving import BackgroundServer

    path = tmp_path / "platform.sqlite3"
    shutil.copyfile(platform_template, path)
    with BackgroundServer(create_demo_platform_app(path, PLATFORM_SECRET)) as server:
        yield server.base_url


def with_platform(settings: Settings, platform_url: str) -> Settings:
    """`settings` pointed at the demo platform."""
    from pydantic import SecretStr

    return settings.model_copy(update={"platform_url": platform_url, "platform_secret": SecretStr(PLATFORM_SECRET)})
