"""In a real browser: a reviewer finds two cases matched by one bank entry, decides both as not a match at once,
after a confirmation page that lists every case, item and outcome, and never shows media."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bastion.auth import totp
from bastion.auth.roles import Role
from bastion.cases.models import Case, CaseItem
from bastion.clock import SystemClock
from bastion.config import Settings
from bastion.db import make_engine, make_sessionmaker
from bastion.web.app import create_app
from tests.conftest import SECRET
from tests.browser.signin import sign_in, staff_with_totp
from tests.livehttp import serve


@pytest.fixture
def world(tmp_path: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    """A live Bastion with a reviewer and two cases, of two accounts, matched by bank entry 7."""
    settings = Settings(data_dir=tmp_path / "var", database_url=sqlite_url, secret_key=SECRET)
    engine = make_engine(sqlite_url)
    app = create_app(settings, engine=engine)
    clock = SystemClock()
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        secret = totp.new_secret()
        staff_with_totp(session, "rita", Role.REVIEWER, secret, clock)
        now, ids = clock.now(), []
        for n, account in enumerate(("acct-one", "acct-two")):
            case = Case(account_id=account, status="new", priority=50, opened_at=now, updated_at=now,
                        removal_due_at=now + timedelta(hours=24))
            session.add(case)
            session.flush()
            session.add(CaseItem(case_id=case.id, scan_id=2000 + n, content_id=f"post-{account}", bank_id=1,
                                 bank_name="KNOWN", bank_source="industry", entry_id=7, signal_type="pdq",
                                 distance=9, category="B2", added_at=now))
            ids.append(case.id)
        session.commit()
    with serve(app) as url:
        yield url, secret, ids, sessions
    engine.dispose()


def test_a_reviewer_decides_two_cases_of_one_bank_entry_at_once(page, world) -> None:  # type: ignore[no-untyped-def]
    url, secret, ids, sessions = world
    sign_in(page, url, "rita", secret)
    page.goto(f"{url}/cases/{ids[0]}")
    page.click(".bulk-link")
    page.wait_for_selector("#bulk-items")
    assert "acct-one" in page.inner_text("#bulk-items") and "acct-two" in page.inner_text("#bulk-items")
    assert page.locator("img").count() == 0
    page.check("#bulk-reject")
    page.fill("#bulk-reason", "a landscape photo, not the listed picture")
    page.click("#bulk-preview")
    page.wait_for_selector("#bulk-plan-table")
    plan = page.inner_text("#bulk-plan-table")
    assert plan.count("case dismissed") == 2 and "not a match" in plan
    assert page.locator("img").count() == 0
    page.click("#bulk-apply")
    page.wait_for_selector("#bulk-done")
    assert page.inner_text("#bulk-done") == "2 items decided."
    assert "No pending item" in page.inner_text("#bulk-items")
    with sessions() as session:
        assert {c.status for c in session.scalars(select(Case))} == {"dismissed"}
