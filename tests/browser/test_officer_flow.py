"""In a real browser, the motivating case end to end: an officer registers, confirms the address
from a mail delivered over SMTP, enrols a second factor and submits a BNSS s.94 notice under an FIR
for the accounts, links, locations and server details behind demo-platform posts; legal staff
validate, verify, decide, approve with a second person, collect from the demo platform and produce a
signed package; the officer downloads it; `bastion production verify` passes, and fails on a
tampered copy."""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

import httpx
import pyotp
import pytest
from typer.testing import CliRunner

from bastion.cli.main import app as cli
from tests.conftest import PASSWORD
from tests.browser.worlds import first_login_enrols, legal_world, register_and_confirm

PLATFORM_SECRET = "officer-flow-platform-secret"
OFFICER = "si.patil@mumbaipolice.gov.in"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
STAFF = {"alice": pyotp.random_base32(), "bob": pyotp.random_base32()}


@pytest.fixture
def world(tmp_path: Path, sqlite_url: str, monkeypatch):  # type: ignore[no-untyped-def]
    agency = {"name": "Mumbai Police Cyber Cell", "country": "IN", "jurisdiction": "IN",
              "domains": "mumbaipolice.gov.in", "phone": "+91 22 5550 0100", "phone_source": "state police website"}
    with legal_world(tmp_path, sqlite_url, monkeypatch, agency=agency, staff=STAFF,
                     platform_secret=PLATFORM_SECRET) as (url, platform_url, smtp, _engine, app):
        yield url, platform_url, smtp, app


def _staff(url: str, name: str) -> tuple[httpx.Client, dict[str, str]]:
    client = httpx.Client(base_url=url, timeout=30)
    code = pyotp.TOTP(STAFF[name]).now()
    response = client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD, "totp_code": code})
    assert response.status_code == 200, response.text
    return client, {"X-CSRF-Token": response.json()["csrf_token"]}


@pytest.mark.timezone("Asia/Kolkata")
def test_officer_request_to_verified_production(page, world, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, platform_url, smtp, app = world

    # 1. register and confirm the official address from the mail
    register_and_confirm(page, url, smtp, name="SI A. Patil", email=OFFICER, phone="+91 22 5550 0123",
                         password="officer-password-1")

    # 2. legal staff approve the account
    alice, alice_h = _staff(url, "alice")
    officers = alice.get("/legal/officers").text
    officer_id = re.search(r"/legal/officers/(\d+)/approve", officers).group(1)  # type: ignore[union-attr]
    assert alice.post(f"/legal/officers/{officer_id}/approve", headers=alice_h).status_code in (200, 303)

    # 3. first login enrols the second factor, then the portal
    first_login_enrols(page, url, email=OFFICER, password="officer-password-1")

    # 4. the BNSS s.94 notice under an FIR, with the signed document
    page.click("#new-request")
    page.select_option("#instrument", "in_bnss_94")
    page.fill("#issuing_authority", "Mumbai Police Cyber Cell")
    page.fill("#issuing_officer", "SI A. Patil")
    page.fill("#phone", "+91 22 5550 0123")
    page.fill("#case_number", "FIR 112/2026")
    page.fill("#due_date", "2030-01-20")
    page.fill("#accounts", f"url: {platform_url}/posts/post-2001\nurl: {platform_url}/posts/post-2004")
    for category in ("subscriber", "content", "location", "hosting"):
        page.check(f"input[name=categories][value={category}]")
    page.fill("#date_from", "2024-02-01")
    page.fill("#date_to", "2024-03-31")
    page.set_input_files("#document", files=[{"name": "notice.pdf", "mimeType": "application/pdf", "buffer": PDF}])
    page.click("#request-submit")
    page.wait_for_url(re.compile(r"/portal/requests/\d+$"))
    request_id = int(page.url.rsplit("/", 1)[1])
    shown = page.locator("#request-timeline time").first
    assert shown.get_attribute("data-zone") in ("Asia/Kolkata", "Asia/Calcutta")  # the officer reads IST
    assert "UTC" not in shown.inner_text() and re.search(r"(IST|GMT\+5:30)$", shown.inner_text())

    # 5. staff: validated and verified; decide; a second person approves; collect; notify; produce
    view = alice.get(f"/api/v1/legal/requests/{request_id}").json()
    assert view["validation"]["missing"] == [] and view["verification"]["status"] == "verified", view
    categories = ["subscriber", "content", "location", "hosting"]
    decided = alice.post(f"/api/v1/legal/requests/{request_id}/decision", headers=alice_h,
                         json={"outcome": "produce", "categories": categories, "reason": "valid notice"})
    assert decided.status_code == 200, decided.text
    bob, bob_h = _staff(url, "bob")
    assert bob.post(f"/api/v1/legal/requests/{request_id}/approve", headers=bob_h).status_code == 200
    assert alice.post(f"/api/v1/legal/requests/{request_id}/collect", headers=alice_h).status_code == 200
    assert alice.post(f"/api/v1/legal/requests/{request_id}/notice", headers=alice_h,
                      json={"to": "alice@example.com"}).status_code == 200
    produced = alice.post(f"/api/v1/legal/requests/{request_id}/productions", headers=alice_h,
                          json={"delivery": "portal"})
    assert produced.status_code == 201, produced.text

    # 6. the officer downloads it through the portal with the mailed token
    mails = [str(m.message.get_content()) for m in smtp.received]
    deadline = time.monotonic() + 30
    while not any("Download token:" in m for m in mails) and time.monotonic() < deadline:
        time.sleep(0.2)
        mails = [str(m.message.get_content()) for m in smtp.received]
    token = next(re.search(r"Download token: (\S+)", m).group(1) for m in mails if "Download token:" in m)  # type: ignore[union-attr]
    with page.expect_download() as download:
        page.evaluate(f"window.location.href = '/portal/download/{token}'")
    package = tmp_path / "production.zip"
    download.value.save_as(package)
    assert zipfile.is_zipfile(package)

    # 7. verify with the published key; a tampered copy is refused, naming the file
    key = httpx.get(f"{url}/.well-known/bastion/production-key.json").json()
    pem = next(v for v in key.values() if isinstance(v, str) and "BEGIN PUBLIC KEY" in v)
    pem_file = tmp_path / "production-key.pem"
    pem_file.write_text(pem)
    runner = CliRunner()
    ok = runner.invoke(cli, ["production", "verify", str(package), "--public-key", str(pem_file)])
    assert ok.exit_code == 0, ok.output
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(package) as original, zipfile.ZipFile(tampered, "w") as copy:
        for member in original.infolist():
            data = original.read(member)
            if member.filename == "data/content.json":
                data = data.replace(b"post-2001", b"post-9999")
            copy.writestr(member, data)
    refused = runner.invoke(cli, ["production", "verify", str(tampered), "--public-key", str(pem_file)])
    assert refused.exit_code == 1 and "data/content.json" in refused.output
    with zipfile.ZipFile(io.BytesIO(package.read_bytes())) as archive:
        names = archive.namelist()
    assert "manifest.json" in names and "manifest.sig" in names and any(n.endswith(".pdf") for n in names)
