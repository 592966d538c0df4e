"""In a real browser: a compliance officer opens the Transparency page and sees the charts drawn on the server
(SVG images from this origin, no script, no CDN), and a screenshot of them shows the bars."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from PIL import Image

from bastion.auth.roles import Role
from bastion.clock import SystemClock
from bastion.config import Settings
from bastion.db import make_engine, make_sessionmaker
from bastion.reports.monthly import last_closed, month_start
from bastion.scanning.models import Scan, ScanMatch
from bastion.web.app import create_app
from tests.conftest import SECRET
from tests.browser.signin import sign_in, staff_with_totp
from tests.livehttp import free_port, serve

OFFICER_SECRET = pyotp.random_base32()
BANK_A = (0x1F, 0x5F, 0x99)  # the first series' colour (charts.PALETTE)
BANK_B = (0xD9, 0x82, 0x2B)


@pytest.fixture
def site(tmp_path: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(sqlite_url)
    port = free_port()
    settings = Settings(data_dir=tmp_path / "var", database_url=sqlite_url, secret_key=SECRET,
                        base_url=f"http://127.0.0.1:{port}")
    first = month_start(SystemClock().now(), -1)  # the month the page shows by default
    with make_sessionmaker(engine)() as session:
        staff_with_totp(session, "chitra", Role.COMPLIANCE, OFFICER_SECRET, SystemClock())
        for n, (day, bank) in enumerate([(0, "bank-a"), (0, "bank-b"), (1, "bank-a"), (3, "bank-a")]):
            when = first + timedelta(days=day, hours=1)
            scan = Scan(created_at=when, source="upload", md5=f"{n:032x}", sha1=f"{n:040x}", sha256=f"{n:064x}",
                        match_count=1)
            session.add(scan)
            session.flush()
            session.add(ScanMatch(scan_id=scan.id, bank_id=1, bank_name=bank, entry_id=n, signal_id=n,
                                  signal_type="pdq", distance=0, found_at=when))
        for n, bank in enumerate(["bank-a", "bank-b"], start=100):  # yesterday: on the landing page's 30 days
            when = SystemClock().now() - timedelta(days=1)
            scan = Scan(created_at=when, source="upload", md5=f"{n:032x}", sha1=f"{n:040x}", sha256=f"{n:064x}",
                        match_count=1)
            session.add(scan)
            session.flush()
            session.add(ScanMatch(scan_id=scan.id, bank_id=1, bank_name=bank, entry_id=n, signal_id=n,
                                  signal_type="pdq", distance=0, found_at=when))
        session.commit()
    with serve(create_app(settings, engine=engine), port=port) as url:
        yield url
    engine.dispose()


def _near(colour: tuple[int, int, int], image: Image.Image) -> bool:
    pixels = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    return any(sum(abs(a - b) for a, b in zip(c, colour, strict=True)) <= 12 for _, c in pixels)


def _sign_in(page, site) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, site, "chitra", OFFICER_SECRET)


def test_the_landing_page_shows_the_compliance_officers_charts(page, site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    _sign_in(page, site)
    page.wait_for_function("Array.from(document.querySelectorAll('#dashboard-charts img'))"
                           ".every(img => img.complete && img.naturalWidth > 0)")
    charts = page.eval_on_selector_all("#dashboard-charts img", "els => els.map(e => e.dataset.chart)")
    assert charts == ["matches-per-day", "cybertipline-per-week", "legal-clocks-per-week", "requests-per-country"]
    shot = page.locator("#dashboard-charts img").first.screenshot(path=str(tmp_path / "dashboard-matches.png"))
    image = Image.open(io.BytesIO(shot))
    assert image.width >= 700
    assert _near(BANK_A, image) and _near(BANK_B, image)  # yesterday's match in each bank was drawn


def test_the_transparency_page_shows_server_drawn_charts(page, site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    _sign_in(page, site)
    page.click("text=Transparency")
    page.wait_for_url(re.compile(r"/transparency$"))
    page.wait_for_function("Array.from(document.querySelectorAll('#transparency-charts img'))"
                           ".every(img => img.complete && img.naturalWidth > 0)")
    charts = page.eval_on_selector_all("#transparency-charts img", "els => els.map(e => e.dataset.chart)")
    assert charts == ["matches-per-day", "requests-per-country", "legal-clocks"]
    assert page.inner_text("#transparency-charts").count(last_closed(SystemClock().now())) == 1
    shot = page.locator("#transparency-charts img").first.screenshot(path=str(tmp_path / "matches-per-day.png"))
    image = Image.open(io.BytesIO(shot))
    assert image.width >= 700
    assert _near(BANK_A, image) and _near(BANK_B, image)  # both banks' bars were drawn
    legal = Image.open(io.BytesIO(page.locator("#transparency-charts img").nth(1).screenshot()))
    assert not _near(BANK_A, legal)  # no requests yet: no bars
