"""In a real browser: a video case opens on a blurred, grey contact sheet with the matched frames marked;
the reviewer reveals one frame (sharp grey, then colour, each checked by its pixels), then asks to play: the player is muted, never autoplays, is blurred
until unblurred, and the seconds played are counted in the reviewer's exposure."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from bastion.auth import totp
from bastion.auth.roles import Role
from bastion.banks import service as banks
from bastion.cases.models import ReviewerExposure
from bastion.clock import SystemClock
from bastion.config import Settings
from bastion.db import make_engine, make_sessionmaker
from bastion.media.video import hash_video_file
from bastion.scanning.service import UploadMeta
from bastion.scanning.video_scan import scan_video
from bastion.web.app import create_app
from tests.conftest import SECRET
from tests.browser.signin import sign_in, staff_with_totp
from tests.livehttp import serve
from tests.media._videos import make_clip

MATCHED_SECOND = 5  # the bank holds the PDQ of this second's frame: the second shot of the clip


@pytest.fixture
def video_world(tmp_path: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    """A live Bastion with one case about a synthetic video (VP8 and a FLAC tone, in Matroska)."""
    clip = make_clip(tmp_path, "clip", seconds=8.0, codec="libvpx", container="matroska", audio=True,
                     bit_rate=600_000)
    data = clip.read_bytes()
    hashes = hash_video_file(clip)
    banked = next(f for f in hashes.features if f.timestamp >= MATCHED_SECOND)
    settings = Settings(data_dir=tmp_path / "var", database_url=sqlite_url, secret_key=SECRET,
                        ticker_interval_seconds=0.2, index_refresh_seconds=0)
    engine = make_engine(sqlite_url)
    app = create_app(settings, engine=engine, background=True)
    state = app.state.bastion
    secret = totp.new_secret()
    clock = SystemClock()
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        staff_with_totp(session, "vera", Role.REVIEWER, secret, clock)
        bank = banks.create_bank(session, name="KNOWN", actor="test", clock=clock)
        banks.add_entry(session, bank, {"pdq": banked.hash}, actor="test", clock=clock, classification="A1",
                        source="industry")
        session.commit()
        state.matcher.refresh()
        result = scan_video(state.scanner, session, data, UploadMeta(content_id="post-9", account_id="acct-9"),
                            source="upload", actor="test")
        assert result.outcome.matches
        session.commit()
    with serve(app) as url:
        yield url, secret, sessions
    engine.dispose()


#: Of the image matched by the selector: whether every sampled pixel has equal red, green and blue
#: (the red outline of matched tiles aside), and the mean step between horizontal neighbours (sharpness).
PIXELS = """(selector) => {
  const img = document.querySelector(selector), c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  const outline = (i) => d[i] === 200 && d[i + 1] === 0 && d[i + 2] === 0;
  let grey = true, steps = 0, pairs = 0;
  for (let i = 0; i < d.length - 4; i += 4) {
    if (outline(i)) continue;
    if (d[i] !== d[i + 1] || d[i + 1] !== d[i + 2]) grey = false;
    if (!outline(i + 4) && (i / 4 + 1) % c.width !== 0) { steps += Math.abs(d[i] - d[i + 4]); pairs++; }
  }
  return {grey: grey, edges: steps / Math.max(pairs, 1)};
}"""


def _login(page, url: str, secret: str) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, url, "vera", secret)


def _loaded(page, selector: str) -> int:  # type: ignore[no-untyped-def]
    page.wait_for_function(f"() => {{ const i = document.querySelector({selector!r}); return i && i.complete; }}")
    return int(page.evaluate(f"document.querySelector({selector!r}).naturalWidth"))


def test_contact_sheet_review_protects_the_reviewer(page, video_world) -> None:  # type: ignore[no-untyped-def]
    url, secret, sessions = video_world
    _login(page, url, secret)
    page.goto(f"{url}/review")
    page.click("#next-case")
    page.wait_for_url(re.compile(r"/cases/\d+"))

    # the default view: a blurred contact sheet, no player, no revealed frame, matched frames marked by time
    assert _loaded(page, "img.contact-sheet") > 0
    assert page.locator("video").count() == 0 and page.locator("img.revealed-frame").count() == 0
    matched = page.locator("li.sheet-frame.matched")
    assert matched.count() >= 1
    times = [float(t) for t in matched.evaluate_all("els => els.map(e => e.dataset.timestamp)")]
    assert all(t >= MATCHED_SECOND - 1.5 for t in times)
    assert re.fullmatch(r"0:0\d\.\d match", matched.first.inner_text().split("\n")[0].strip())
    frames = page.locator("li.sheet-frame").count()
    assert frames > matched.count()

    assert page.evaluate(PIXELS, "img.contact-sheet")["grey"] is True  # first stage: blurred and grey
    blurred_edges = page.evaluate(PIXELS, "img.contact-sheet")["edges"]

    # reveal one frame, sharp but grey: it alone is shown; every other frame keeps its reveal button
    matched.first.locator("button.reveal-frame").click()
    page.wait_for_selector("img.revealed-frame[data-stage=sharp]")
    assert page.locator("img.revealed-frame").count() == 1
    assert _loaded(page, "img.revealed-frame") > 160  # larger than a tile: the revealed frame, not the sheet
    sharp = page.evaluate(PIXELS, "img.revealed-frame")
    assert sharp["grey"] is True and sharp["edges"] > 2 * blurred_edges  # sharp, and still no colour in it
    assert page.locator("button.reveal-frame").count() == frames - 1
    assert "1 reveals" in page.inner_text(".video-exposure")

    # the colour step, for that frame only; not counted again; a reload blurs it back to the first stage
    page.click("button.reveal-frame-colour")
    page.wait_for_selector("img.revealed-frame[data-stage=colour]")
    assert _loaded(page, "img.revealed-frame") > 160
    assert page.evaluate(PIXELS, "img.revealed-frame")["grey"] is False  # now it has colour
    assert page.locator("button.reveal-frame-colour").count() == 0
    assert "1 reveals" in page.inner_text(".video-exposure")
    page.reload()
    assert page.locator("img.revealed-frame").count() == 0 and page.locator("button.reveal-frame").count() == frames

    # playback only when asked: muted, no autoplay, blurred until unblurred
    page.click("button.play-video")
    page.wait_for_selector("video.review-video")
    video = "document.querySelector('video.review-video')"
    assert page.evaluate(f"{video}.hasAttribute('autoplay')") is False
    assert page.evaluate(f"{video}.autoplay") is False
    assert page.evaluate(f"{video}.muted") is True and page.evaluate(f"{video}.hasAttribute('muted')") is True
    assert page.evaluate(f"{video}.paused") is True
    assert "blur" in page.evaluate(f"getComputedStyle({video}).filter")
    assert page.locator("img.revealed-frame").count() == 0  # playing replaced the revealed frame

    # the reviewer plays it; the seconds played reach the server and the exposure counter
    page.evaluate(f"{video}.play()")
    page.wait_for_function(f"() => {video}.currentTime > 2.5", timeout=20000)
    assert page.evaluate(f"{video}.muted") is True
    page.evaluate(f"{video}.pause()")
    page.click("button.unblur-video")
    assert "blur" not in page.evaluate(f"getComputedStyle({video}).filter")

    def watched() -> int:
        with sessions() as session:
            return int(session.scalar(select(ReviewerExposure.video_seconds)) or 0)

    page.wait_for_function("() => true")  # let the pause report go out
    for _ in range(50):
        if watched() >= 2:
            break
        page.wait_for_timeout(200)
    assert 2 <= watched() <= 10
