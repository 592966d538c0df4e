"""In a real browser: a reviewer searches cases, and works through the queue with the keyboard (Submit & Next)."""

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
    """A live Bastion with one reviewer and three open cases, one matched item each (no media needed)."""
    settings = Settings(data_dir=tmp_path / "var", database_url=sqlite_url, secret_key=SECRET)
    engine = make_engine(sqlite_url)
    app = create_app(settings, engine=engine)
    secret, clock = totp.new_secret(), SystemClock()
    with make_sessionmaker(engine)() as session:
        staff_with_totp(session, "rita", Role.REVIEWER, secret, clock)
        now = clock.now()
        for n, (account, signal, distance) in enumerate((("acct-a", "pdq", 6), ("acct-b", "md5", 0),
                                                         ("acct-c", "pdq", 12))):
            case = Case(account_id=account, status="new", priority=100 - n, opened_at=now, updated_at=now,
                        removal_due_at=now + timedelta(hours=24))
            session.add(case)
            session.flush()
            session.add(CaseItem(case_id=case.id, scan_id=1000 + n, content_id=f"post-{account}", bank_id=1,
                                 bank_name="KNOWN", bank_source="industry", entry_id=7 + n, signal_type=signal,
                                 distance=distance, category="B2", added_at=now))
        session.commit()
    with serve(app) as url:
        yield url, secret
    engine.dispose()


def _login(page, url: str, secret: str) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, url, "rita", secret)


def test_search_finds_cases_by_account_and_shows_no_media(page, world) -> None:  # type: ignore[no-untyped-def]
    url, secret = world
    _login(page, url, secret)
    page.goto(f"{url}/review")
    assert page.locator("#queue tbody tr").count() == 3
    page.click("#case-search-box summary")
    page.fill("#case-search input[name=account]", "acct-b")
    page.click("#search-cases")
    page.wait_for_selector("#search-heading")
    rows = page.locator("#queue tbody tr")
    assert rows.count() == 1 and "acct-b" in rows.inner_text()
    assert page.locator("img").count() == 0  # search shows metadata only
    page.fill("#case-search input[name=hash]", "123")
    page.click("#search-cases")
    assert "MD5" in page.content()  # the bounded search says what it needs
    page.goto(f"{url}/review?bank=KNOWN&status=new")
    assert page.locator("#queue tbody tr").count() == 3


def test_decide_and_next_from_the_keyboard(page, world) -> None:  # type: ignore[no-untyped-def]
    """x, the reason and Enter decide and go on; c confirms with the bank's classification, once revealed."""
    url, secret = world
    _login(page, url, secret)
    page.goto(f"{url}/review")
    page.click("#next-case")
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    first = page.url
    assert "acct-a" in page.inner_text("h1 + p")
    why = page.inner_text("p.why")
    assert "PDQ perceptual match at distance 6" in why and "KNOWN entry #7" in why
    assert "Shift" in page.inner_text("#key-hints")
    page.locator("article.item").first.focus()
    page.keyboard.press("x")  # not a match: the reason field takes focus
    page.keyboard.type("a different picture")
    page.keyboard.press("Enter")  # decides the last item: the case concludes and the next one opens, claimed
    page.wait_for_url(lambda u: u != first and re.search(r"/cases/\d+$", u) is not None)
    second = page.url
    assert "acct-b" in page.inner_text("h1 + p")
    assert "exact MD5 match (the same file)" in page.inner_text("p.why")
    assert page.locator("#release").count() == 1  # already claimed for the reviewer
    assert page.input_value("article.item form.confirm select") == "B2"  # the bank's classification, shown
    page.keyboard.press("c")  # not yet seen, and policy does not allow confirming it unseen: refused
    page.wait_for_selector("#case-error")
    assert "reveal" in page.inner_text("#case-error")
    assert page.locator("article.item .decision[data-decision=pending]").count() == 1
    page.wait_for_function("document.activeElement && document.activeElement.matches('article.item')")
    page.keyboard.press("r")
    page.wait_for_selector("article.item img.revealed")
    page.wait_for_function("document.activeElement && document.activeElement.matches('article.item')")
    page.keyboard.press("c")
    page.wait_for_url(lambda u: "acct-b" not in u and u.split("?")[0] != second.split("?")[0]
                      and re.search(r"/cases/\d+$", u) is not None)
    assert "acct-c" in page.inner_text("h1 + p")
    page.goto(first)
    assert page.inner_text("#case-status") == "Dismissed"
    page.goto(second)
    assert page.inner_text("#case-status") == "Confirmed" and "B2" in page.inner_text("h1 + p")
