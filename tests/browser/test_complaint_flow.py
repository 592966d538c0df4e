"""In a real browser: someone files a public complaint about an image of them, follows it by the secret
link, and a legal reviewer acknowledges and decides it; the complainant's page shows the decision."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest

from bastion.auth.roles import Role
from bastion.clock import SystemClock
from bastion.config import Settings
from bastion.db import make_engine, make_sessionmaker
from bastion.web.app import create_app
from tests.conftest import SECRET
from tests.browser.signin import sign_in, staff_with_totp
from tests.livehttp import free_port, serve

OFFICER_SECRET = pyotp.random_base32()


@pytest.fixture
def site(tmp_path: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(sqlite_url)
    port = free_port()
    settings = Settings(data_dir=tmp_path / "var", database_url=sqlite_url, secret_key=SECRET,
                        base_url=f"http://127.0.0.1:{port}")
    with make_sessionmaker(engine)() as session:
        staff_with_totp(session, "gita", Role.LEGAL, OFFICER_SECRET, SystemClock())
        session.commit()
    with serve(create_app(settings, engine=engine), port=port) as url:
        yield url
    engine.dispose()


def test_a_public_complaint_followed_by_its_link_and_decided(page, browser, site) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{site}/complaints/new")
    page.check("#category-ncii")
    page.fill("#content_ref", "https://platform.example.org/p/post-2003")
    page.fill("#description", "This is a photo of me posted without my consent.")
    page.click("#complaint-submit")
    reference = page.inner_text("#complaint-reference")
    status_link = page.get_attribute("#status-link", "href")
    page.goto(status_link)
    assert page.inner_text("#complaint-state") == "Received"

    staff = browser.new_context().new_page()
    sign_in(staff, site, "gita", OFFICER_SECRET)
    staff.goto(f"{site}/grievances")
    staff.click(f"#grievance-queue tr[data-reference='{reference}'] a")
    assert "Rule 3(2)(b)" in staff.inner_text("#grievance-clocks")
    staff.click("#acknowledge")
    staff.select_option("#outcome", "removed")
    staff.click("#decide")
    staff.wait_for_selector("#grievance-state:text('Decided')")

    page.reload()
    assert page.inner_text("#complaint-state") == "Decided"
    assert page.inner_text("#complaint-outcome") == "The content was removed."
