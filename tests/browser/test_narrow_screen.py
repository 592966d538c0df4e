"""In a real browser 390 px wide (a phone): every nav link can be reached and clicked, no page is wider than
the screen, no label overlaps a control, and the settings page edits each setting with a control of its
type (a checkbox for a yes/no, a number field for a number) while the server still checks the value."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest

from bastion import orgsettings
from bastion.auth import users
from bastion.auth.roles import Role
from bastion.cases import sampling
from bastion.clock import SystemClock
from bastion.config import Settings
from bastion.db import make_engine, make_sessionmaker
from bastion.web.app import create_app
from tests.conftest import PASSWORD, SECRET
from tests.browser.signin import sign_in, staff_with_totp
from tests.livehttp import serve

TOTP_SECRET = pyotp.random_base32()
WIDTH = 390
#: The dashboard and list pages with forms and wide tables (review pages have their own tests).
PAGES = ["/", "/admin/users", "/admin/apikeys", "/audit", "/scans", "/banks", "/legal", "/settings", "/review/policies"]

#: Every visible control that spills past the screen (outside a table, which scrolls) or over a label not its own.
OVERLAPS = """() => {
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const controls = [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')].filter(visible);
  const labels = [...document.querySelectorAll('label')].filter(visible);
  const bad = [];
  for (const c of controls) {
    const r = c.getBoundingClientRect();
    // A wide table scrolls inside itself, so a control in one may sit beyond the screen's edge until scrolled to.
    if (!c.closest('table') && (r.right > window.innerWidth + 0.5 || r.left < -0.5)) bad.push(`${c.outerHTML.slice(0, 80)} leaves the screen`);
    for (const l of labels) {
      if (l.contains(c) || l.control === c) continue;
      const q = l.getBoundingClientRect();
      if (r.left < q.right - 0.5 && q.left < r.right - 0.5 && r.top < q.bottom - 0.5 && q.top < r.bottom - 0.5)
        bad.push(`${c.outerHTML.slice(0, 80)} overlaps label ${l.textContent.trim().slice(0, 40)}`);
    }
  }
  return bad;
}"""


@pytest.fixture
def world(tmp_path: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    clock = SystemClock()
    engine = make_engine(sqlite_url)
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        staff_with_totp(session, "nadia", Role.ADMIN, TOTP_SECRET, clock, email="nadia@example.org")
        users.create_user(session, username="a-reviewer-with-a-rather-long-user-name", role=Role.REVIEWER,
                          password=PASSWORD, email="a.reviewer.with.a.long.address@example.org", actor="test",
                          clock=clock)
        session.commit()
    settings = Settings(data_dir=tmp_path, database_url=sqlite_url, secret_key=SECRET)
    with serve(create_app(settings, engine=engine, background=True)) as url:
        yield url, sessions
    engine.dispose()


def _log_in(page, url: str) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": WIDTH, "height": 844})
    sign_in(page, url, "nadia", TOTP_SECRET)


def test_every_nav_link_is_reachable_and_nothing_overflows(page, world) -> None:  # type: ignore[no-untyped-def]
    url, _ = world
    _log_in(page, url)
    hrefs = [a.get_attribute("href") for a in page.locator("header.top nav a").all()]
    assert len(hrefs) >= 10 and "/settings" in hrefs and "/audit" in hrefs  # an admin sees the whole nav
    for href in hrefs:
        page.goto(f"{url}/")
        link = page.locator(f'header.top nav a[href="{href}"]')
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, (href, box)
        link.click()  # Playwright clicks only what is visible and not covered by anything else
        page.wait_for_url(re.compile(re.escape(url + href) + r"(\?.*)?$"))
    for path in PAGES:
        page.goto(f"{url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= WIDTH, f"{path} is {width}px wide on a {WIDTH}px screen"
        assert page.evaluate(OVERLAPS) == [], path


def test_settings_use_typed_controls_and_the_server_checks_them(page, world) -> None:  # type: ignore[no-untyped-def]
    url, sessions = world
    _log_in(page, url)
    page.goto(f"{url}/settings")
    blur = page.locator('tr[data-key="wellness.blur"] input[type=checkbox]')
    assert blur.is_checked()  # on by default
    percent = page.locator(f'tr[data-key="{sampling.SAMPLE_PERCENT}"] input[type=number]')
    assert (percent.get_attribute("min"), percent.get_attribute("max"), percent.get_attribute("step")) == ("0", "100", "1")
    assert page.locator('tr[data-key="org.name"] input:not([type=hidden])').get_attribute("type") in (None, "text")

    blur.uncheck()
    page.click('tr[data-key="wellness.blur"] button[type=submit]')
    page.wait_for_url(re.compile(r"/settings$"))
    assert not page.locator('tr[data-key="wellness.blur"] input[type=checkbox]').is_checked()
    with sessions() as session:
        assert orgsettings.get_value(session, "wellness.blur") is False
    page.locator('tr[data-key="wellness.blur"] input[type=checkbox]').check()
    page.click('tr[data-key="wellness.blur"] button[type=submit]')
    page.wait_for_url(re.compile(r"/settings$"))
    with sessions() as session:
        assert orgsettings.get_value(session, "wellness.blur") is True

    percent.fill("40")
    page.click(f'tr[data-key="{sampling.SAMPLE_PERCENT}"] button[type=submit]')
    page.wait_for_url(re.compile(r"/settings$"))
    assert page.locator(f'tr[data-key="{sampling.SAMPLE_PERCENT}"] input[type=number]').input_value() == "40"
    with sessions() as session:
        assert orgsettings.get_value(session, sampling.SAMPLE_PERCENT) == 40

    # The browser would refuse 150; without the field's limits the server refuses it and says what to enter.
    field = page.locator(f'tr[data-key="{sampling.SAMPLE_PERCENT}"] input[type=number]')
    field.evaluate("el => el.removeAttribute('max')")
    field.fill("150")
    page.click(f'tr[data-key="{sampling.SAMPLE_PERCENT}"] button[type=submit]')
    page.wait_for_selector("#settings-error")
    assert "100 or less" in page.inner_text("#settings-error")
    with sessions() as session:
        assert orgsettings.get_value(session, sampling.SAMPLE_PERCENT) == 40
