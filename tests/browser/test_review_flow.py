"""In a real browser: a reviewer claims a case, reveals one blurred item, confirms, and the demo
platform shows the post removed and the account suspended."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from bastion.auth import totp
from bastion.auth.roles import Role
from bastion.banks import service as banks
from bastion.clock import SystemClock
from bastion.config import Settings
from bastion.db import make_engine, make_sessionmaker
from bastion.dev.platform import create_demo_platform_app, seed_demo_platform
from bastion.dev.serving import BackgroundServer
from bastion.media import hash_media
from bastion.platform import HttpPlatformConnector
from bastion.scanning.service import UploadMeta
from bastion.web.app import create_app
from tests.conftest import SECRET
from tests.browser.signin import sign_in, staff_with_totp
from tests.livehttp import serve

PLATFORM_SECRET = "browser-test-platform-secret"
POST, ACCOUNT = "post-2002", "acct-1001"


@pytest.fixture
def world(tmp_path: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    """A demo platform, and a live Bastion wired to it with one case waiting for review."""
    platform_db = tmp_path / "platform.sqlite3"
    seed_demo_platform(platform_db)
    with BackgroundServer(create_demo_platform_app(platform_db, PLATFORM_SECRET)) as platform_server:
        settings = Settings(data_dir=tmp_path / "var", database_url=sqlite_url, secret_key=SECRET,
                            platform_url=platform_server.base_url, platform_secret=SecretStr(PLATFORM_SECRET),
                            ticker_interval_seconds=0.2, index_refresh_seconds=0)
        engine = make_engine(sqlite_url)
        app = create_app(settings, engine=engine, background=True)
        state = app.state.bastion
        connector = HttpPlatformConnector(platform_server.base_url, PLATFORM_SECRET)
        media = connector.fetch_media(POST)
        secret = totp.new_secret()
        clock = SystemClock()
        with make_sessionmaker(engine)() as session:
            staff_with_totp(session, "rita", Role.REVIEWER, secret, clock)
            bank = banks.create_bank(session, name="KNOWN", actor="test", clock=clock)
            hashes = hash_media(media)
            banks.add_entry(session, bank, {"pdq": hashes.pdq, "md5": hashes.md5}, actor="test", clock=clock,
                            classification="A1", source="industry")
            session.commit()
            state.matcher.refresh()
            result = state.scanner.scan_bytes(session, media, UploadMeta(content_id=POST, account_id=ACCOUNT),
                                              source="upload", actor="test")
            assert result.outcome.matches
            session.commit()
        with serve(app) as url:
            yield url, platform_server.base_url, secret
        connector.close()
        engine.dispose()


#: True when every sampled pixel of the revealed image has equal red, green and blue (greyscale).
GREY_PIXELS = """() => {
  const img = document.querySelector('img.revealed'), c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  for (let i = 0; i < d.length; i += 4 * 97) { if (d[i] !== d[i + 1] || d[i + 1] !== d[i + 2]) return false; }
  return true;
}"""


def test_reviewer_confirms_and_the_platform_acts(page, world) -> None:  # type: ignore[no-untyped-def]
    url, platform_url, secret = world
    sign_in(page, url, "rita", secret)

    page.goto(f"{url}/review")
    page.click("#next-case")
    page.wait_for_url(re.compile(r"/cases/\d+"))
    assert page.locator("img.blurred").count() == 1 and page.locator("img.revealed").count() == 0
    assert page.inner_text("article.item .category") == "A1"  # the category shows before opening
    page.click("button.reveal")  # first step: sharp, still greyscale
    page.wait_for_selector("img.revealed[data-stage=sharp]")
    # the revealed image really loads (an image the server refused would stay at width 0)
    page.wait_for_function("() => { const i = document.querySelector('img.revealed'); return i && i.complete; }")
    assert page.evaluate("document.querySelector('img.revealed').naturalWidth") > 0
    assert page.evaluate(GREY_PIXELS) is True  # what reached the browser has no colour in it
    page.click("button.reveal-colour")  # second step: colour
    page.wait_for_selector("img.revealed[data-stage=colour]")
    page.wait_for_function("() => { const i = document.querySelector('img.revealed'); return i && i.complete; }")
    assert page.evaluate("document.querySelector('img.revealed').naturalWidth") > 0
    assert page.evaluate(GREY_PIXELS) is False  # and now it has
    assert page.locator("button.reveal-colour").count() == 0
    page.reload()  # a reload blurs it again, all the way back to the first stage
    assert page.locator("img.revealed").count() == 0 and page.locator("button.reveal").count() == 1
    page.click("button.reveal")
    page.wait_for_selector("img.revealed[data-stage=sharp]")
    page.select_option("form.confirm select", "A1")
    page.click("button.confirm-btn")
    page.wait_for_selector("article.item .decision:text('confirmed')")
    page.click("#conclude-submit")
    page.wait_for_selector("#case-status:text('confirmed'), #case-status:text('actioned')")

    page.goto(f"{platform_url}/posts/{POST}")
    deadline = time.monotonic() + 30  # bounded wait for the background delivery worker
    while page.locator("[data-testid=unavailable-notice]").count() == 0 and time.monotonic() < deadline:
        time.sleep(0.3)
        page.reload()
    assert page.locator("[data-testid=unavailable-notice]").count() == 1
    page.goto(f"{platform_url}/accounts/{ACCOUNT}")
    assert page.locator("[data-testid=suspended-notice]").count() == 1
