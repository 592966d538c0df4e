"""In a real browser, on the request page: legal staff find a username on the platform, confirm the match,
press "preserve now", and see the accounts (the confirmed one and a named post's author, resolved at
intake) preserved for 180 days under a legal hold, against the demo platform over HTTP."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from bastion.auth import totp
from bastion.auth.roles import Role
from bastion.clock import SystemClock
from bastion.config import Settings
from bastion.db import make_engine, make_sessionmaker
from bastion.evidence import holds
from bastion.legal import directory, intake, preservation
from bastion.legal.schemas import RequestInput
from bastion.dev.platform import create_demo_platform_app, seed_demo_platform
from bastion.dev.serving import BackgroundServer
from bastion.web.app import create_app
from tests.conftest import SECRET
from tests.browser.signin import sign_in, staff_with_totp
from tests.livehttp import serve

PLATFORM_SECRET = "preserve-flow-platform-secret"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def world(tmp_path: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    platform_db = tmp_path / "platform.sqlite3"
    seed_demo_platform(platform_db)
    with BackgroundServer(create_demo_platform_app(platform_db, PLATFORM_SECRET)) as platform:
        settings = Settings(data_dir=tmp_path / "var", database_url=sqlite_url, secret_key=SECRET,
                            platform_url=platform.base_url, platform_secret=SecretStr(PLATFORM_SECRET),
                            ticker_interval_seconds=0.2, index_refresh_seconds=0)
        engine = make_engine(sqlite_url)
        app = create_app(settings, engine=engine, background=True)
        vault = app.state.bastion.services["evidence.vault"]
        secret, clock = totp.new_secret(), SystemClock()
        with make_sessionmaker(engine)() as session:
            staff_with_totp(session, "lena", Role.LEGAL, secret, clock)
            directory.set_agency(session, name="Delhi Police, Cyber Crime", country="IN", jurisdiction="IN",
                                 domains="delhipolice.gov.in", phone="+91 11 5550 0100",
                                 phone_source="Delhi Police website", actor="test", clock=clock)
            request = intake.submit(session, RequestInput(
                instrument="in_bnss_94", source="email", requester_email="insp.singh@delhipolice.gov.in",
                issuing_authority="Delhi Police, Cyber Crime", issuing_officer="Inspector R. Singh",
                case_number="FIR 112/2026 (IPC 292, POCSO 15, IT Act 67B)", categories=["subscriber", "location"],
                accounts=[{"kind": "username", "value": "@bob"},
                          {"kind": "url", "value": f"{platform.base_url}/posts/post-2001"}]),
                actor="intake-clerk", clock=clock, vault=vault, document=("notice.pdf", PDF))
            session.commit()
            request_id = request.id
        with serve(app) as url:
            yield url, request_id, secret, engine, vault
        engine.dispose()


def _wait_for(page, selector: str, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds  # bounded: the background ticker runs every 0.2 s
    while page.locator(selector).count() == 0 and time.monotonic() < deadline:
        time.sleep(0.3)
        page.reload()
    assert page.locator(selector).count() > 0, selector


def test_staff_confirm_a_match_and_preserve_now(page, world) -> None:  # type: ignore[no-untyped-def]
    url, request_id, secret, engine, vault = world
    sign_in(page, url, "lena", secret)

    page.goto(f"{url}/legal/requests/{request_id}")
    # the named post's author was resolved at intake, by the background ticker
    _wait_for(page, "#accounts tr[data-entry] td.account-id:text('acct-1001')")
    page.click("#find-accounts")
    page.wait_for_selector("#accounts tr.candidate[data-state=proposed]")
    assert "@bob" in page.inner_text("#accounts tr.candidate")
    page.click("#accounts tr.candidate button[id^=confirm-candidate-]")
    page.wait_for_selector("#accounts tr.candidate[data-state=confirmed]")
    assert "acct-1002" in page.inner_text("#accounts")

    page.fill("#preservation input[name=reason]", "child-safety FIR: the accounts may be deleted")
    page.click("#preserve-now")
    page.wait_for_selector("#timeline li[data-kind=preserve_now]")
    _wait_for(page, "#preservations tr[data-account=acct-1002][data-state=preserved]")
    _wait_for(page, "#preservations tr[data-account=acct-1001][data-state=preserved]")
    label = page.inner_text("#preservations tr[data-account=acct-1001] .preservation-state")
    assert label.startswith("preserved until ")
    assert "180 days" in page.inner_text("#preservations") and "Rule 3(1)(g)" in page.inner_text("#preservations")
    with make_sessionmaker(engine)() as session:
        [hold] = holds.active_holds(session, subject=f"legal_request:{request_id}")
        rows = preservation.preservations_of(session, request_id)
        assert {r.account_id for r in rows} == {"acct-1001", "acct-1002"} and {r.hold_id for r in rows} == {hold.id}
