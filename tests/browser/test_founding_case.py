"""The founding case, end to end in real browsers, with no setting changed from its default.

Delhi Police register an FIR under the IPC, POCSO and the IT Act over abuse material on a platform and
send a BNSS s.94 notice for the accounts, the links, and the location and server details; nothing
comes back, so they send a reminder. Here: the officer registers, is approved (and told by mail),
enrols a second factor and files the notice with its FIR and sections in IST. Staff see the 72-hour
Rule 3(1)(j) clock govern, the reminder escalates (mail, banner), they preserve the accounts and the
posts' authors, decide with a second approver, send no user notice (child safety), collect IP,
location and hosting records from the demo platform, and produce a package with the BSA s.63
certificate that `bastion production verify` accepts.
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pyotp
import pytest
from typer.testing import CliRunner

from bastion.cli.main import app as cli
from bastion.db import make_sessionmaker
from tests.browser.signin import sign_in
from tests.browser.worlds import first_login_enrols, legal_world, mail_to, register_and_confirm

PLATFORM_SECRET = "founding-case-platform-secret"
OFFICER = "insp.singh@delhipolice.gov.in"
OFFICER_PASSWORD = "officer-password-delhi-1"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
STAFF = {"alice": pyotp.random_base32(), "bob": pyotp.random_base32()}


@pytest.fixture
def world(tmp_path: Path, sqlite_url: str, monkeypatch):  # type: ignore[no-untyped-def]
    agency = {"name": "Delhi Police, IFSO Cyber Crime", "country": "IN", "jurisdiction": "IN",
              "domains": "delhipolice.gov.in", "phone": "+91 11 5550 0100",
              "phone_source": "Delhi Police website, checked by phone"}
    with legal_world(tmp_path, sqlite_url, monkeypatch, agency=agency, staff=STAFF, platform_secret=PLATFORM_SECRET,
                     staff_email=True) as (url, platform_url, smtp, engine, _app):
        yield url, platform_url, smtp, engine


def _staff_page(browser, url: str, name: str):  # type: ignore[no-untyped-def]
    """A staff member's own browser, logged in with password and second factor."""
    page = browser.new_context(timezone_id="Asia/Kolkata").new_page()
    page.set_default_timeout(15000)
    sign_in(page, url, name, STAFF[name])
    return page


def _until(page, selector: str, seconds: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds  # bounded: background work runs every 0.2 s
    while page.locator(selector).count() == 0 and time.monotonic() < deadline:
        time.sleep(0.3)
        page.reload()
    assert page.locator(selector).count() > 0, selector


@pytest.mark.timezone("Asia/Kolkata")
def test_the_founding_case_from_both_sides(page, browser, world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, platform_url, smtp, engine = world

    # -- the officer registers and confirms the address; staff approve; the officer is told by mail
    register_and_confirm(page, url, smtp, name="Inspector R. Singh", email=OFFICER, phone="+91 11 5550 0123",
                         password=OFFICER_PASSWORD)
    alice = _staff_page(browser, url, "alice")
    alice.goto(f"{url}/legal/officers")
    alice.click(f"#officers tr[data-email='{OFFICER}'] .approve-officer")
    assert "approved" in mail_to(smtp, OFFICER, "approved").lower()

    # -- first login enrols the second factor
    first_login_enrols(page, url, email=OFFICER, password=OFFICER_PASSWORD)

    # -- the s.94 notice with its FIR and sections, dated in IST
    page.click("#new-request")
    offered = page.eval_on_selector_all("#instrument option", "els => els.map(e => e.value)")
    assert "in_bnss_94" in offered and "us_subpoena" not in offered  # the agency's own law only
    page.select_option("#instrument", "in_bnss_94")
    page.fill("#issuing_authority", "Delhi Police, IFSO Cyber Crime")
    page.fill("#issuing_officer", "Inspector R. Singh")
    page.fill("#phone", "+91 11 5550 0123")
    page.fill("#case_number", "FIR 112/2026")
    page.fill("#fir_number", "112/2026")
    page.fill("#police_station", "PS Special Cell (IFSO)")
    page.fill("#district", "New Delhi")
    page.fill("#sections", "IPC: 292\nPOCSO Act, 2012: 15\nIT Act, 2000: 67B")
    page.fill("#officer_rank", "Inspector")
    page.fill("#notice_date", datetime.now().date().isoformat())
    page.fill("#due_date", (datetime.now() + timedelta(days=10)).date().isoformat())
    page.fill("#accounts", f"url: {platform_url}/posts/post-2001\nurl: {platform_url}/posts/post-2004")
    for category in ("subscriber", "identifying_ip", "location", "hosting"):
        page.check(f"input[name=categories][value={category}]")
    page.fill("#date_from", "2024-02-01")
    page.fill("#date_to", "2024-03-31")
    page.set_input_files("#document", files=[{"name": "notice.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.click("#request-submit")
    page.wait_for_url(re.compile(r"/portal/requests/\d+$"))
    request_id = int(page.url.rsplit("/", 1)[1])
    assert re.search(r"(IST|GMT\+5:30)$", page.locator("#request-timeline time").first.inner_text())

    # -- staff: the 72-hour clock governs; a child-safety case; nobody is to notify the suspect
    alice.goto(f"{url}/legal/requests/{request_id}")
    clocks = alice.inner_text("#deadline")
    assert "Rule 3(1)(j)" in clocks and "earliest of 2 clocks" in clocks
    api = httpx.Client(base_url=url, timeout=30, cookies={c["name"]: c["value"] for c in alice.context.cookies()})
    view = api.get(f"/api/v1/legal/requests/{request_id}").json()
    received = datetime.fromisoformat(view["received_at"])
    governing = datetime.fromisoformat(view["clocks"][0]["due_at"])
    assert governing - received == timedelta(hours=72) and "3(1)(j)" in view["clocks"][0]["citation"]
    assert len(view["clocks"]) == 2 and view["child_safety"] and view["notice"]["status"] == "not_required"
    assert {s["section"] for s in view["fir"]["sections"]} == {"292", "15", "67B"}
    alice.select_option("#review select[name=username]", "alice")
    alice.click("#review form[action$='/assign'] button")

    # -- nothing came back: the officer sends a reminder; it escalates, mails and shows
    page.fill("input[name=text]", "Reminder: FIR 112/2026, no reply yet")
    page.click("#send-reminder")
    mail_to(smtp, "alice@bastion.example", view["reference"])  # the assignee is mailed
    alice.goto(f"{url}/legal/requests/{request_id}")
    assert "chased this request 1 time" in alice.inner_text("#chased")

    # -- preserve now: the accounts behind both posts (their authors, resolved at intake)
    _until(alice, "#accounts td.account-id:text('acct-1002')")
    alice.click("#preserve-now")
    _until(alice, "#preservations tr[data-account=acct-1001][data-state=preserved]")
    _until(alice, "#preservations tr[data-account=acct-1002][data-state=preserved]")

    # -- four eyes: alice decides (what was sought is pre-selected), bob approves
    alice.select_option("#review select[name=outcome]", "produce")
    alice.fill("#review input[name=reason]", "valid s.94 notice under a POCSO FIR")
    alice.click("#review form[action$='/decision'] button")
    bob = _staff_page(browser, url, "bob")
    bob.goto(f"{url}/legal/requests/{request_id}")
    bob.click("#approve")
    bob.wait_for_selector("#timeline li[data-kind=approved]")

    # -- collection from the demo platform: subscriber, IP logs, locations, hosting
    alice.goto(f"{url}/legal/requests/{request_id}")
    alice.click("#collect")
    alice.wait_for_selector("#collection-preview")
    collected = alice.inner_text("#collection")
    for category in ("subscriber", "identifying_ip", "location", "hosting"):
        assert f"· {category} ·" in collected, category
    alice.select_option("#production select[name=delivery]", "portal")
    alice.click("#produce")
    alice.wait_for_selector("#timeline li[data-kind=produced]")

    # -- the officer downloads the package; it verifies and carries the BSA s.63 certificate
    token = re.search(r"Download token: (\S+)", mail_to(smtp, OFFICER, "Download token:")).group(1)  # type: ignore[union-attr]
    with page.expect_download() as download:
        page.evaluate(f"window.location.href = '/portal/download/{token}'")
    package = tmp_path / "production.zip"
    download.value.save_as(package)
    pem = next(v for v in httpx.get(f"{url}/.well-known/bastion/production-key.json").json().values()
               if isinstance(v, str) and "BEGIN PUBLIC KEY" in v)
    (tmp_path / "key.pem").write_text(pem)
    verified = CliRunner().invoke(cli, ["production", "verify", str(package), "--public-key", str(tmp_path / "key.pem")])
    assert verified.exit_code == 0, verified.output
    with zipfile.ZipFile(io.BytesIO(package.read_bytes())) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["certificate"]["form"]["key"] == "certificate:in_bsa_63"

    # -- and the suspect was never told
    kinds = [str(m.message["Subject"]) for m in smtp.received]
    assert not any("concerning your account" in k for k in kinds)
    with make_sessionmaker(engine)() as session:
        from bastion.mail.models import MailMessage

        assert not session.query(MailMessage).filter(MailMessage.kind == "legal.user_notice").count()
