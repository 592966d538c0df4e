"""In a real browser: an admin adds a URL-list exchange on the Exchanges page, the server's own
background ticker fetches it, and pause and "fetch now" work; the password typed in never comes back.
And a lead approves a contribution a reviewer's decision called for, which the ticker then sends."""

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
from bastion.dev.exchanges import UrlListStandin
from bastion.web.app import create_app
from tests.conftest import PASSWORD, SECRET
from tests.exchanges.conftest import pdq_values
from tests.browser.signin import sign_in, staff_with_totp
from tests.livehttp import serve

TOTP_SECRET = pyotp.random_base32()
LIST_PASSWORD = "browser-list-password-5d2c"


@pytest.fixture
def live_url(tmp_path: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, database_url=sqlite_url, secret_key=SECRET,
                        exchange_allowed_networks="127.0.0.0/8", ticker_interval_seconds=0.2)
    engine = make_engine(sqlite_url)
    with make_sessionmaker(engine)() as session:
        staff_with_totp(session, "erin", Role.ADMIN, TOTP_SECRET, SystemClock(), email="erin@example.org")
        session.commit()
    with serve(create_app(settings, engine=engine, background=True)) as url:
        yield url
    engine.dispose()


def _row_status(page, name: str, wanted: str, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        status = page.get_attribute(f'tr.exchange-row[data-name="{name}"]', "data-status")
        if status == wanted or time.monotonic() > deadline:
            assert status == wanted, page.inner_text("#exchanges")
            return
        time.sleep(0.3)
        page.reload()


def test_an_admin_adds_an_exchange_and_the_server_fetches_it(page, live_url) -> None:  # type: ignore[no-untyped-def]
    values = pdq_values(4, seed=51)
    with UrlListStandin(clock=SystemClock().now) as lists:
        list_url = lists.publish("browser", "".join(f"pdq {v}\n" for v in values), auth="basic", user="ops",
                                 secret=LIST_PASSWORD)
        sign_in(page, live_url, "erin", TOTP_SECRET)
        page.click("nav >> text=Exchanges")
        page.wait_for_url(re.compile(r"/exchanges$"))

        form = page.locator("#add-exchange")
        form.locator('input[name="name"]').fill("HOTLINE_LIST")
        form.locator('select[name="api"]').select_option("url_list")
        form.locator('input[name="banks"]').fill("HOTLINE")
        form.locator('textarea[name="settings"]').fill(f"url={list_url}\nformat=te\nauth=basic")
        form.locator('input[name="user"]').fill("ops")
        form.locator('input[name="password"]').fill(LIST_PASSWORD)
        form.locator('button[type="submit"]').click()
        page.wait_for_selector('tr.exchange-row[data-name="HOTLINE_LIST"]')

        _row_status(page, "HOTLINE_LIST", "ok")
        row = page.locator('tr.exchange-row[data-name="HOTLINE_LIST"]')
        assert "4 / 0 / 0 / 0" in row.inner_text()
        assert LIST_PASSWORD not in page.content()

        row.locator("button.pause").click()
        page.wait_for_selector('tr.exchange-row[data-name="HOTLINE_LIST"] button.pause:has-text("Resume")')
        assert "Paused" in page.locator('tr.exchange-row[data-name="HOTLINE_LIST"] td.status').inner_text()
        page.locator('tr.exchange-row[data-name="HOTLINE_LIST"] button.pause').click()
        page.locator('tr.exchange-row[data-name="HOTLINE_LIST"] button.fetch-now').click()
        page.wait_for_url(re.compile(r"/exchanges$"))
        assert page.locator("#exchanges-error").count() == 0
        before = len(lists.requests)
        deadline = time.monotonic() + 30
        while len(lists.requests) == before and time.monotonic() < deadline:  # the ticker runs it
            time.sleep(0.2)
        assert lists.requests[-1]["if_none_match"] == lists.lists["browser"].etag


LEAD_TOTP = pyotp.random_base32()


@pytest.fixture
def sharing_app(tmp_path: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    """A StopNCII exchange (stand-in) that sends feedback on false positives once a second person approves,
    a reviewer's false positive on one of its hashes, and a lead (not the reviewer) to approve it."""
    from bastion.banks import service as banks
    from bastion.dev.stopncii import StopNCIIStandin
    from bastion.exchanges import service, sharing
    from bastion.exchanges.fetch import run_fetch
    from tests.exchanges.conftest import LOOPBACK, STOPNCII_KEYS
    from tests.exchanges.test_share_back import decide

    clock = SystemClock()
    settings = Settings(data_dir=tmp_path, database_url=sqlite_url, secret_key=SECRET,
                        exchange_allowed_networks="127.0.0.0/8", ticker_interval_seconds=0.2)
    engine = make_engine(sqlite_url)
    sessions = make_sessionmaker(engine)
    value = pdq_values(1, seed=52)[0]
    with StopNCIIStandin(*STOPNCII_KEYS.values(), clock=clock.now) as stop_ncii:
        stop_ncii.put(value)
        with sessions() as session:
            staff_with_totp(session, "lena", Role.LEAD, LEAD_TOTP, clock, email="lena@example.org")
            reviewer = users.create_user(session, username="rafael", role=Role.REVIEWER, password=PASSWORD,
                                         email="rafael@example.org", actor="test", clock=clock)
            banks.create_bank(session, name="SHARED", actor="test", clock=clock)
            exchange = service.add_exchange(session, name="STOPNCII", api="stop_ncii",
                                            settings={"base_url": stop_ncii.base_url}, bank_names=["SHARED"],
                                            credentials=dict(STOPNCII_KEYS), fetch_every_minutes=60,
                                            actor="test", clock=clock, secret=SECRET.encode(), policy=LOOPBACK)
            session.commit()
            exchange_id, reviewer_id = exchange.id, reviewer.id
        assert run_fetch(sessions, exchange_id, clock=clock, secret=SECRET.encode(), policy=LOOPBACK).status == "ok"
        with sessions() as session:
            sharing.set_sharing(session, service.get_exchange(session, "STOPNCII"),
                                sharing.Sharing(false_positive=True, second_approver=True), actor="test", clock=clock)
            session.commit()
        time.sleep(1.1)  # decisions after the moment sharing was switched on
        decide(sessions, clock, reviewer_id, f"pdq:{value}", confirm=False)  # type: ignore[arg-type]
        with sessions() as session:
            assert sharing.propose(session, clock=clock) == 1
            session.commit()
        with serve(create_app(settings, engine=engine, background=True)) as url:
            yield url, stop_ncii, value
    engine.dispose()


def test_a_lead_approves_a_reviewers_false_positive_and_the_feedback_reaches_stopncii(  # type: ignore[no-untyped-def]
        page, sharing_app) -> None:
    live_url, stop_ncii, value = sharing_app
    sign_in(page, live_url, "lena", LEAD_TOTP)
    page.goto(f"{live_url}/exchanges")
    row = page.locator('tr.contribution-row[data-status="needs_approval"]')
    assert "Waiting for a second person" in row.inner_text() and "rafael" in row.inner_text()
    assert "False positive" in row.inner_text()
    assert stop_ncii.feedback == []
    row.locator("button.approve").click()
    page.wait_for_url(re.compile(r"/exchanges$"))
    deadline = time.monotonic() + 30
    while not stop_ncii.feedback and time.monotonic() < deadline:  # the server's ticker sends it
        time.sleep(0.2)
    assert [(f["hashValue"], f["feedbackValue"]) for f in stop_ncii.feedback] == [(value, "NotBlocked")]
    page.reload()
    done = page.locator("tr.contribution-row").first
    assert done.get_attribute("data-status") == "sent" and "approved by lena" in done.inner_text()
