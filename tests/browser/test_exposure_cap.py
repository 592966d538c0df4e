"""In a real browser: the daily exposure cap stops assignment, the reviewer is told why, and a review lead
lifts it with a reason (audited), after which the reviewer is assigned again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from bastion.audit.models import AuditRecord
from bastion.auth import totp
from bastion.auth.roles import Role
from bastion.banks import service as banks
from bastion.clock import SystemClock
from bastion.config import Settings
from bastion.db import make_engine, make_sessionmaker
from bastion.media import hash_media
from bastion.orgsettings import set_value
from bastion.scanning.service import UploadMeta
from bastion.web.app import create_app
from tests.browser.signin import sign_in, staff_with_totp
from tests.conftest import SECRET
from tests.detect.images import jpeg
from tests.livehttp import serve


@pytest.fixture
def world(tmp_path: Path, sqlite_url: str):  # type: ignore[no-untyped-def]
    """Bastion with a daily cap of one item, two cases waiting, a reviewer and a review lead."""
    settings = Settings(data_dir=tmp_path / "var", database_url=sqlite_url, secret_key=SECRET,
                        index_refresh_seconds=0)
    engine = make_engine(sqlite_url)
    app = create_app(settings, engine=engine, background=False)
    state = app.state.bastion
    secrets = {"rita": totp.new_secret(), "lena": totp.new_secret()}
    clock = SystemClock()
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        staff_with_totp(session, "rita", Role.REVIEWER, secrets["rita"], clock)
        staff_with_totp(session, "lena", Role.LEAD, secrets["lena"], clock)
        set_value(session, "wellness.daily_cap", "1", actor="admin", clock=clock)
        bank = banks.create_bank(session, name="KNOWN", actor="test", clock=clock)
        pictures = [jpeg(seed) for seed in (11, 12)]
        for n, data in enumerate(pictures):
            hashes = hash_media(data)
            banks.add_entry(session, bank, {"pdq": hashes.pdq, "md5": hashes.md5}, actor="test", clock=clock,
                            classification="A1", source="industry", external_id=f"known-{n}")
        session.commit()
        state.matcher.refresh()
        for n, data in enumerate(pictures):
            result = state.scanner.scan_bytes(session, data, UploadMeta(content_id=f"post-{n}", account_id=f"acct-{n}"),
                                              source="upload", actor="test")
            assert result.outcome.matches
        session.commit()
    with serve(app) as url:
        yield url, secrets, sessions
    engine.dispose()


def test_the_cap_stops_assignment_until_a_lead_lifts_it(browser, world) -> None:  # type: ignore[no-untyped-def]
    url, secrets, sessions = world
    rita = browser.new_context().new_page()
    sign_in(rita, url, "rita", secrets["rita"])
    rita.goto(f"{url}/review")
    assert rita.locator("#exposure-capped").count() == 0
    rita.click("#next-case")
    rita.wait_for_url(re.compile(r"/cases/\d+"))
    rita.click("button.reveal")  # the one item today's cap allows
    rita.wait_for_selector("img.revealed[data-stage=sharp]")

    rita.click("#release")  # she hands the case back; the case she holds she could still finish
    rita.wait_for_load_state()
    rita.goto(f"{url}/review")
    assert "daily cap of 1" in rita.inner_text("#exposure-capped")
    with rita.expect_navigation():
        rita.click("#next-case")  # refused: back on the queue, which says why
    assert re.search(r"/review$", rita.url), rita.url
    assert rita.locator("#exposure-capped").count() == 1

    lena = browser.new_context().new_page()
    sign_in(lena, url, "lena", secrets["lena"])
    lena.goto(f"{url}/review")
    assert "rita" in lena.inner_text("#capped-reviewers")
    lena.fill("#capped-reviewers input[name=reason]", "urgent police deadline, rita volunteered")
    with lena.expect_navigation():
        lena.click("#capped-reviewers button.lift-cap")
    assert lena.locator("#capped-reviewers").count() == 0

    rita.goto(f"{url}/review")
    assert rita.locator("#exposure-capped").count() == 0
    rita.click("#next-case")
    rita.wait_for_url(re.compile(r"/cases/\d+"))  # assigned again
    with sessions() as session:
        lifted = session.scalars(select(AuditRecord).where(AuditRecord.action == "wellness.cap_lifted")).all()
    assert [r.actor for r in lifted] == ["lena"] and "rita volunteered" in lifted[0].details
    rita.context.close()
    lena.context.close()
