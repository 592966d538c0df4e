"""POCSO Rule 11 (issue 14 item 5): from a confirmed case, a signed package for the Indian police with
the material, the uploading account with its IP logs and devices, the URLs and the hosting details
(rule 11(2), (3)), a cover letter and the BSA s.63 certificate; it verifies with `bastion production
verify`; delivery and the acknowledgement number are tracked, and the case shows every destination
its jurisdictions require. All media is the demo platform's synthetic imagery."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from bastion.audit.models import AuditRecord
from bastion.cli.main import app as cli
from tests.ncmec.reports.conftest import ACCOUNT, POSTS, confirmed_case


def test_a_pocso_rule_11_package_is_built_verified_delivered_and_acknowledged(  # type: ignore[no-untyped-def]
        client, sessions, clock, platform, organisation, reviewer_factory, tmp_path: Path) -> None:
    reviewer = reviewer_factory()
    case_id = confirmed_case(client, sessions, clock, platform, reviewer, posts=POSTS)
    page = reviewer.get(f"/cases/{case_id}").text
    assert 'data-destination="in_pocso_rule_11" data-done="no"' in page  # IN is a default jurisdiction
    assert 'data-destination="us_ncmec" data-done="no"' in page and "uk_iwf" not in page

    built = reviewer.post(f"/cases/{case_id}/authorities/in_pocso_rule_11", follow_redirects=False)
    assert built.status_code == 303 and "error" not in built.headers["location"], built.headers["location"]
    page = reviewer.get(f"/cases/{case_id}").text
    report_id = int(page.split("/authority-reports/", 1)[1].split("/", 1)[0])
    package = reviewer.get(f"/cases/{case_id}/authority-reports/{report_id}/package")
    assert package.status_code == 200 and package.headers["cache-control"] == "no-store, private"

    archive = zipfile.ZipFile(io.BytesIO(package.content))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["certificate"]["form"]["key"] == "certificate:in_bsa_63"
    assert manifest["request"]["citation"].startswith("Protection of Children from Sexual Offences Rules, 2020")
    names = archive.namelist()
    assert "cover-letter.pdf" in {n.rsplit("/", 1)[-1] for n in names}
    assert len([n for n in names if "material/item-" in n]) == len(POSTS)  # the material itself, from the vault
    data = {n.rsplit("/", 1)[-1].split(".")[0]: json.loads(archive.read(n)) for n in names
            if n.startswith("data/") and n.endswith(".json")}
    assert {"material", "account", "ip_logins", "devices", "urls", "hosting"} <= set(data)
    assert [a["account_id"] for a in data["account"]] == [ACCOUNT]
    assert {u["upload_ip"] for u in data["urls"]} == {"203.0.113.60", "203.0.113.61"}
    assert {h["content_id"] for h in data["hosting"]} == set(POSTS) and data["devices"] and data["ip_logins"]
    assert all(m["sha256"] and m["file"].startswith("material/") for m in data["material"])
    text = json.dumps(data)
    assert ACCOUNT in text and "203.0.113.60" in text and "server_id" in text and "device_id" in text

    (tmp_path / "package.zip").write_bytes(package.content)
    key = client.get("/.well-known/bastion/production-key.json").json()
    pem = next(v for v in key.values() if isinstance(v, str) and "BEGIN PUBLIC KEY" in v)
    (tmp_path / "key.pem").write_text(pem)
    verified = CliRunner().invoke(cli, ["production", "verify", str(tmp_path / "package.zip"),
                                        "--public-key", str(tmp_path / "key.pem")])
    assert verified.exit_code == 0, verified.output

    refused = reviewer.post(f"/cases/{case_id}/authority-reports/{report_id}/acknowledged", data={"number": "X"},
                            follow_redirects=False)
    assert "Record+the+delivery+first" in refused.headers["location"] or "delivery%20first" in refused.headers["location"]
    reviewer.post(f"/cases/{case_id}/authority-reports/{report_id}/delivered",
                  data={"channel": "cybercrime.gov.in upload", "reference": "NCRP upload 31/12"})
    reviewer.post(f"/cases/{case_id}/authority-reports/{report_id}/acknowledged", data={"number": "NCRP-2026-0001234"})
    page = reviewer.get(f"/cases/{case_id}").text
    assert 'data-destination="in_pocso_rule_11" data-done="yes"' in page and "NCRP-2026-0001234" in page
    with sessions() as session:
        actions = [r.action for r in session.scalars(select(AuditRecord).where(
            AuditRecord.action.like("authorities.report.%")))]
        assert actions == ["authorities.report.build", "authorities.report.deliver", "authorities.report.acknowledge"]


def test_a_case_not_confirmed_builds_nothing_and_hotlines_get_only_urls(  # type: ignore[no-untyped-def]
        client, sessions, clock, platform, organisation, reviewer_factory) -> None:
    from bastion.authorities import reports

    assert reports.destination("uk_iwf").datasets == ("urls",)  # least data: a hotline gets URLs only
    assert reports.destination("in_pocso_rule_11").datasets[0] == "material"
    reviewer = reviewer_factory()
    refused = reviewer.post("/cases/999999/authorities/in_pocso_rule_11", follow_redirects=False)
    assert refused.status_code in (303, 404)
    with sessions() as session:
        assert not list(session.scalars(select(AuditRecord).where(AuditRecord.action == "authorities.report.build")))
