"""In a real browser: a reviewer opens "My wellbeing" from the review page and reads today's figures, the
time of their last break in their own zone, and the fortnight's chart drawn on the server."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pyotp
import pytest
from PIL import Image

from bastion.auth.roles import Role
from bastion.cases import break_timer, wellness
from bastion.clock import SystemClock
from bastion.config import Settings
from bastion.db import make_engine, make_sessionmaker
from bastion.web.app import create_app
from tests.browser.signin import sign_in, staff_with_totp
from tests.conftest import SECRET
from tests.livehttp import free_port, serve

REVIEWER_SECRET = pyotp.random_base32()
REVEALED = (0x1F, 0x5F, 0x99)  # the bars' colour (charts.PALETTE[0])


@pytest.fixture
def site(tmp_path: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    """A reviewer who revealed four items and watched two minutes of video today, then took a break."""
    engine, port, clock = make_engine(sqlite_url), free_port(), SystemClock()
    settings = Settings(data_dir=tmp_path / "var", database_url=sqlite_url, secret_key=SECRET,
                        base_url=f"http://127.0.0.1:{port}")
    with make_sessionmaker(engine)() as session:
        rita = staff_with_totp(session, "rita", Role.REVIEWER, REVIEWER_SECRET, clock)
        session.flush()
        for item in range(1, 5):
            wellness.reveal(session, rita.id, item, clock)
        wellness.exposure_row(session, rita.id, clock).video_seconds = 125
        break_timer.take_break(session, rita.id, actor="rita", clock=clock)
        session.commit()
    with serve(create_app(settings, engine=engine), port=port) as url:
        yield url
    engine.dispose()


def _near(colour: tuple[int, int, int], image: Image.Image) -> bool:
    pixels = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    return any(sum(abs(a - b) for a, b in zip(c, colour, strict=True)) <= 12 for _, c in pixels)


@pytest.mark.timezone("Asia/Kolkata")
def test_a_reviewer_reads_their_wellbeing_page(page, site, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, site, "rita", REVIEWER_SECRET)
    page.goto(f"{site}/review")
    page.click("#my-wellbeing")
    page.wait_for_url(f"{site}/review/wellbeing")
    assert page.inner_text("h1") == "My wellbeing"
    assert "rita" in page.inner_text("#wellbeing-intro")
    assert page.inner_text("#revealed-today") == "4"
    assert page.inner_text("#video-today") == "2 min"
    assert page.inner_text("#breaks-today") == "1"
    assert page.inner_text("#session-minutes") == "—"  # nothing seen since the break
    last_break = page.locator("#wellbeing-today time").first
    assert last_break.get_attribute("data-zone") in ("Asia/Kolkata", "Asia/Calcutta")  # the viewer's zone
    assert "UTC" not in last_break.inner_text() and re.search(r"(IST|GMT\+5:30)$", last_break.inner_text())
    today = SystemClock().now().date().isoformat()
    assert page.inner_text(f'#wellbeing-days tr[data-day="{today}"] td:nth-child(2)') == "4"
    assert page.locator("#wellbeing-days tbody tr").count() == 14
    page.wait_for_function("(() => { const img = document.querySelector('#wellbeing-chart');"
                           " return img.complete && img.naturalWidth > 0; })()")
    shot = page.locator("#wellbeing-chart").screenshot(path=str(tmp_path / "wellbeing-chart.png"))
    image = Image.open(io.BytesIO(shot))
    assert image.width >= 700 and _near(REVEALED, image)  # today's bar was drawn
