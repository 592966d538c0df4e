"""A Bastion app wired to the demo platform and to the CyberTipline stand-in, both over real HTTP.

`tests/ncmec/conftest.py` defines its own `clock` and `client` (the CyberTipline
client); the report tests need the application's, so they are redefined here.
All media is synthetic (the demo platform's generated gradients and shapes).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth.roles import Role
from bastion.clock import ManualClock, SystemClock
from bastion.dev.ncmec import StandinServer
from bastion.dev.platform import create_demo_platform_app
from bastion.dev.serving import BackgroundServer
from bastion.executor import TaskContext
from bastion.media import hash_media
from bastion.ncmec.client import CyberTiplineClient
from bastion.ncmec.lifecycle import CLIENT_FACTORY
from bastion.orgsettings import set_value
from bastion.platform import HttpPlatformConnector
from bastion.timers import Ticker
from tests.conftest import TestUser, api_key, api_login

PLATFORM_SECRET = "demo-platform-shared-secret-for-report-tests"
NCMEC_USER, NCMEC_PASSWORD = "bastion-reports", "stand-in-only-password-7d1e"
ACCOUNT = "acct-1001"
POSTS = ("post-2001", "post-2002")


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests log many people in; argon2 at full cost is the login tests' business."""
    from argon2 import PasswordHasher

    from bastion.auth import passwords

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def platform_url(platform_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One demo platform for the session: these tests only read from it (actions replay idempotently)."""
    path = tmp_path_factory.mktemp("report-platform-live") / "platform.sqlite3"
    shutil.copyfile(platform_template, path)
    with BackgroundServer(create_demo_platform_app(path, PLATFORM_SECRET)) as server:
        yield server.base_url


@pytest.fixture
def platform(platform_url: str) -> Iterator[HttpPlatformConnector]:
    connector = HttpPlatformConnector(platform_url, PLATFORM_SECRET)
    yield connector
    connector.close()


@pytest.fixture
def settings(settings, platform_url: str):  # type: ignore[no-untyped-def]
    from pydantic import SecretStr

    return settings.model_copy(update={"platform_url": platform_url, "platform_secret": SecretStr(PLATFORM_SECRET)})


class Network(httpx.HTTPTransport):
    """Real HTTP to the stand-in, with faults on demand and a record of what reached it.

    `faults[path]` is a list of "connect" (fails before anything is sent) or "drop"
    (the request is delivered, then the reply is lost), consumed one per request.
    """

    def __init__(self) -> None:
        super().__init__()
        self.delivered: list[str] = []
        self.faults: dict[str, list[str]] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.rsplit("/", 1)[-1]
        fault = self.faults.get(path, []).pop(0) if self.faults.get(path) else None
        if fault == "connect":
            raise httpx.ConnectError("connection refused (simulated)", request=request)
        self.delivered.append(path)
        response = super().handle_request(request)
        if fault == "drop":
            response.read()
            response.close()
            raise httpx.ReadError("connection reset after the request was sent (simulated)", request=request)
        return response

    def count(self, path: str) -> int:
        return self.delivered.count(path)


class ProcessKilled(BaseException):
    """Stands for the worker process dying: not an Exception, so nothing cleans up after it."""


@dataclass
class Ncmec:
    """The stand-in, the network to it, and how the app's worker reaches it."""

    server: StandinServer
    network: Network
    #: operation -> "before" (die before the request) or "after" (die after NCMEC answered)
    kill: dict[str, str] = field(default_factory=dict)
    #: another server to talk to instead (e.g. the stand-in behind a filter)
    base_url: str | None = None
    #: operation -> what else happens once NCMEC answered it, before the worker sees the reply
    meanwhile: dict[str, Callable[[], None]] = field(default_factory=dict)

    def client(self) -> CyberTiplineClient:
        ncmec = self

        class Killable(CyberTiplineClient):
            def _call(self, operation: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
                when = ncmec.kill.pop(operation, None)
                if when == "before":
                    raise ProcessKilled(f"killed before {operation}")
                reply = super()._call(operation, *args, **kwargs)
                if when == "after":
                    raise ProcessKilled(f"killed after {operation} reached NCMEC")
                if operation in ncmec.meanwhile:
                    ncmec.meanwhile.pop(operation)()
                return reply

        return Killable(NCMEC_USER, NCMEC_PASSWORD, base_url=self.base_url or self.server.base_url,
                        transport=self.network,
                        sleep=lambda _: None)

    def reports_opened(self) -> int:
        return self.network.count("submit")


class FollowingClock:
    """The session's stand-in keeps the time of whichever test is running."""

    def __init__(self) -> None:
        self.target: ManualClock | None = None

    def now(self) -> datetime:
        return (self.target or SystemClock()).now()


@pytest.fixture(scope="session")
def standin() -> Iterator[tuple[StandinServer, FollowingClock]]:
    following = FollowingClock()
    with StandinServer(NCMEC_USER, NCMEC_PASSWORD, clock=following) as server:
        yield server, following


@pytest.fixture
def ncmec(standin: tuple[StandinServer, FollowingClock], clock: ManualClock, app) -> Iterator[Ncmec]:  # type: ignore[no-untyped-def]
    server, following = standin
    following.target = clock
    wired = Ncmec(server, Network())
    app.state.bastion.services[CLIENT_FACTORY] = wired.client
    yield wired
    following.target = None


@pytest.fixture
def organisation(sessions: sessionmaker[Session], clock: ManualClock) -> None:
    set_organisation(sessions, clock)


def set_organisation(sessions: sessionmaker[Session], clock: ManualClock) -> None:
    """The reporter's details a report is drafted from (also used by tests/scaleout)."""
    with sessions() as session:
        for key, value in {"reports.reporter_first_name": "Trust", "reports.reporter_last_name": "Safety",
                           "reports.reporter_email": "ncmec-reports@example.org",
                           "reports.reporter_phone": "+1-202-555-0199",
                           "reports.terms_of_service_url": "https://platform.example.org/terms",
                           "reports.legal_url": "https://platform.example.org/law-enforcement",
                           "reports.platform_name": "Demo Platform",
                           "reports.profile_url_template": "https://platform.example.org/u/{account_id}",
                           "reports.content_url_template": "https://platform.example.org/p/{content_id}"}.items():
            set_value(session, key, value, actor="test", clock=clock)
        session.commit()


def run_timers(app, sessions, clock: ManualClock, rounds: int = 3) -> None:  # type: ignore[no-untyped-def]
    ticker = Ticker(TaskContext(sessions=sessions, clock=clock, services=app.state.bastion.services))
    for _ in range(rounds):
        ticker.tick()


@dataclass
class Reviewer:
    """A logged-in person; logs in again when the clock moved past the session's life."""

    user: TestUser
    http: TestClient
    csrf: dict[str, str]
    clock: ManualClock

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, headers=self.csrf, **kwargs)
        if response.status_code == 401 or response.headers.get("location", "").startswith("/login"):
            self.csrf = {"X-CSRF-Token": api_login(self.http, self.user, self.clock)}
            response = self.http.request(method, path, headers=self.csrf, **kwargs)
        return response

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._send("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._send("PATCH", path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self._send("GET", path, **kwargs)


@pytest.fixture
def reviewer_factory(app, user_factory, clock: ManualClock) -> Callable[[], Reviewer]:  # type: ignore[no-untyped-def]
    def make(role: Role = Role.REVIEWER) -> Reviewer:
        user = user_factory(role)
        http = TestClient(app)
        return Reviewer(user, http, {"X-CSRF-Token": api_login(http, user, clock)}, clock)

    return make


def confirmed_case(client: TestClient, sessions, clock: ManualClock, platform: HttpPlatformConnector,  # type: ignore[no-untyped-def]
                   reviewer: Reviewer, posts: tuple[str, ...] = POSTS, report: bool = True) -> int:
    """Scan the account's posts through /api/v1/scan, then confirm every item (report chosen)."""
    headers = api_key(client, sessions, clock)
    assert client.post("/api/v1/banks", json={"name": "KNOWN"}, headers=headers).status_code in (200, 201)
    for index, post in enumerate(posts):
        media = platform.fetch_media(post)
        hashes = hash_media(media)
        client.post("/api/v1/banks/KNOWN/entries", headers=headers,
                    json={"signals": {"pdq": hashes.pdq, "md5": hashes.md5},
                          "classification": "A1" if index == 0 else "B2", "source": "industry"})
        scanned = client.post("/api/v1/scan", files={"file": (f"{post}.img", media)}, headers=headers,
                              data={"content_id": post, "account_id": ACCOUNT, "client_ip": f"203.0.113.{60 + index}",
                                    "uploaded_at": "2024-03-10T17:59:00Z",
                                    "metadata": json.dumps({"filename": f"IMG_{index:04d}.jpg"})})
        assert scanned.status_code == 200 and scanned.json()["matches"], scanned.text
    case = reviewer.post("/api/v1/cases/next").json()
    for item in reviewer.get(f"/api/v1/cases/{case['id']}").json()["items"]:
        assert reviewer.post(f"/cases/{case['id']}/items/{item['id']}/reveal", follow_redirects=False).status_code == 303
        decided = reviewer.post(f"/api/v1/cases/{case['id']}/items/{item['id']}/decision",
                                json={"decision": "confirm", "classification": item["category"],
                                      "annotations": ["generative_ai"] if item["category"] == "B2" else []})
        assert decided.status_code == 200, decided.text
    concluded = reviewer.post(f"/api/v1/cases/{case['id']}/conclude", json={"report": report})
    assert concluded.status_code == 200 and concluded.json()["status"] == "confirmed", concluded.text
    return int(case["id"])


@pytest.fixture
def approved_report(client: TestClient, sessions, clock: ManualClock, platform: HttpPlatformConnector,  # type: ignore[no-untyped-def]
                    ncmec: Ncmec, organisation, reviewer_factory) -> Callable[..., tuple[int, Reviewer]]:
    """Draft (by one reviewer) and approve (by another) the report of a freshly confirmed case."""

    def make(posts: tuple[str, ...] = POSTS, approve: bool = True) -> tuple[int, Reviewer]:
        author, approver = reviewer_factory(), reviewer_factory()
        case_id = confirmed_case(client, sessions, clock, platform, author, posts=posts)
        drafted = author.post("/api/v1/reports", json={"case_id": case_id})
        assert drafted.status_code == 201, drafted.text
        if approve:
            approved = approver.post(f"/api/v1/reports/{drafted.json()['id']}/approve")
            assert approved.status_code == 200, approved.text
        return int(drafted.json()["id"]), author

    return make
