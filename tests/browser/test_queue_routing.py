"""In a real browser: a lead sets up a queue and its rule, a Rule 3(2)(b) complaint lands there, and the reviewer
assigned to that queue picks it and decides it (with its own classifications and no CyberTipline report)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

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
    """A live Bastion with a lead, a reviewer and one bank-match case already waiting in the general queue."""
    settings = Settings(data_dir=tmp_path / "var", database_url=sqlite_url, secret_key=SECRET)
    engine = make_engine(sqlite_url)
    app = create_app(settings, engine=engine)
    clock, secrets = SystemClock(), {}
    with make_sessionmaker(engine)() as session:
        for name, role in (("lena", Role.LEAD), ("rita", Role.REVIEWER)):
            secrets[name] = totp.new_secret()
            staff_with_totp(session, name, role, secrets[name], clock)
        now = clock.now()
        case = Case(account_id="acct-general", status="new", priority=90, opened_at=now, updated_at=now,
                    removal_due_at=now + timedelta(hours=24))
        session.add(case)
        session.flush()
        session.add(CaseItem(case_id=case.id, scan_id=1000, content_id="post-general", bank_id=1, bank_name="KNOWN",
                             bank_source="industry", entry_id=7, signal_type="pdq", distance=6, category="B2",
                             added_at=now))
        session.commit()
    with serve(app) as url:
        yield url, secrets
    engine.dispose()


def _login(page, url: str, name: str, secret: str) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, url, name, secret)


def test_a_complaint_lands_in_its_queue_and_the_assigned_reviewer_decides_it(page, browser, world) -> None:  # type: ignore[no-untyped-def]
    url, secrets = world
    _login(page, url, "lena", secrets["lena"])
    page.goto(f"{url}/review")
    page.click("#manage-queues")
    page.fill("#queue-name", "NCII desk")
    page.click("#create-queue")
    page.wait_for_selector("#queues tbody tr:has-text('NCII desk')")
    row = page.locator("#queues tbody tr:has-text('NCII desk')")
    row.locator("label:has-text('rita') input").check()
    row.locator(".save-members").click()
    page.wait_for_selector("#queues tbody tr:has-text('NCII desk') label:has-text('rita') input:checked")
    page.fill("#rule-name", "Rule 3(2)(b) complaints")
    page.check("#rule-source-complaint")
    page.fill("#rule-distance", "3")  # a distance never holds for a complaint: refused, saying why
    page.select_option("#rule-queue", label="NCII desk")
    page.click("#save-rule")
    assert "would never match" in page.inner_text("#queues-error")
    page.fill("#rule-name", "Rule 3(2)(b) complaints")
    page.check("#rule-source-complaint")
    page.select_option("#rule-queue", label="NCII desk")
    page.click("#save-rule")
    page.wait_for_selector("#rules tbody tr:has-text('Rule 3(2)(b) complaints')")
    assert "from complaint" in page.inner_text("#rules tbody tr")

    public = browser.new_context().new_page()  # the complainant: no account
    public.goto(f"{url}/complaints/new")
    public.check("#category-ncii")
    public.fill("#content_ref", "post-2004")
    public.click("#complaint-submit")
    public.wait_for_selector("text=GR-")
    public.context.close()

    reviewer = browser.new_context().new_page()
    reviewer.set_default_timeout(15000)
    _login(reviewer, url, "rita", secrets["rita"])
    reviewer.goto(f"{url}/review")
    assert reviewer.locator("#queue tbody tr").count() == 2  # her queue's case and the general one
    assert "NCII desk" in reviewer.locator("#queue tbody tr").first.inner_text()  # the complaint ranks first
    reviewer.select_option("#pick-queue", label="NCII desk")
    reviewer.click("#show-queue")
    reviewer.wait_for_url(re.compile(r"queue=\d+"))
    rows = reviewer.locator("#queue tbody tr")
    assert rows.count() == 1 and "NCII" in rows.inner_text() and "acct-general" not in rows.inner_text()
    reviewer.click("#next-case")
    reviewer.wait_for_url(re.compile(r"/cases/\d+\?queue=\d+$"))  # the picked queue goes with her
    assert reviewer.inner_text("#case-queue") == "NCII desk"
    assert "Rule 3(2)(b)" in reviewer.inner_text("h1 + p")
    assert "Reported by complaint GR-" in reviewer.inner_text("p.why")
    reviewer.click("button.reveal")
    reviewer.wait_for_selector("img.revealed")
    reviewer.select_option("select[name=classification]", "intimate")
    reviewer.click(".confirm-btn")
    reviewer.wait_for_selector("article.item .decision:text('confirmed')")
    assert reviewer.locator("#no-ncmec").count() == 1  # no CyberTipline report, no CSAM bank entry
    reviewer.click("#conclude-submit")
    reviewer.wait_for_selector("#case-status:text('confirmed')")
    reviewer.context.close()
