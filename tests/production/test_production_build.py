"""What a package contains: manifest, datasets as JSON and CSV, attachments, a real PDF certificate."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import date
from typing import Any

import pytest

import bastion
from bastion.clock import ManualClock
from bastion.errors import InvalidInput
from bastion.production import CertificateFontMissing, CertificateInfo, SigningKey, build_package, verify_package
from bastion.production import certificate as certificate_module
from tests.production.conftest import ATTACHMENTS, CUSTODIAN, DATASETS, REQUEST, SCOPE
from tests.production.zips import members


def test_the_package_holds_a_signed_manifest_of_every_file(package: bytes, signer: SigningKey) -> None:
    files = members(package)
    assert list(files)[:3] == ["manifest.json", "manifest.sig", "certificate.pdf"]
    manifest = json.loads(files["manifest.json"])
    assert (manifest["format"], manifest["format_version"]) == ("bastion-production-package", 1)
    assert manifest["request"] == REQUEST and manifest["scope"] == SCOPE
    assert manifest["created_at"] == "2026-01-01T09:00:00Z"
    assert manifest["generator"] == {"name": "bastion", "version": bastion.__version__}
    assert manifest["key_id"] == signer.key_id and manifest["signature"]["algorithm"] == "Ed25519"
    listed = {entry["path"]: entry for entry in manifest["files"]}
    expected = {"certificate.pdf", "attachments/preservation-letter.txt", "attachments/48213/media/m-1.png",
                *(f"data/{name}.{ext}" for name in DATASETS for ext in ("json", "csv"))}
    assert set(listed) == expected == set(files) - {"manifest.json", "manifest.sig"}
    for path, entry in listed.items():
        assert entry["size"] == len(files[path])
        assert entry["sha256"] == hashlib.sha256(files[path]).hexdigest()
    assert listed["data/posts.json"]["records"] == 2 and listed["data/devices.csv"]["records"] == 0
    signer.public_key.verify(files["manifest.sig"], files["manifest.json"])  # raises if not

    result = verify_package(package, signer.public_pem)
    assert result.ok and result.files_checked == len(expected) and result.package_id == manifest["package_id"]
    assert result.raise_for_problems() is result


def test_datasets_come_as_exact_json_and_as_spreadsheet_safe_csv(package: bytes) -> None:
    files = members(package)
    for name, records in DATASETS.items():
        assert json.loads(files[f"data/{name}.json"]) == records
    text = files["data/posts.csv"].decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["id"] for r in rows] == ["9001", "9002"]
    assert rows[1]["text"] == "Zweiter Beitrag \u2013 \u00fcber \"Quotes\"" and rows[1]["media"] == '["m-1","m-2"]'
    assert rows[0]["media"] == ""  # columns are the union of every record's keys
    subscriber = next(csv.DictReader(io.StringIO(files["data/subscriber.csv"].decode("utf-8-sig"))))
    assert subscriber["display_name"] == "'=HYPERLINK(\"http://evil.example\")"  # not a live formula
    location = next(csv.DictReader(io.StringIO(files["data/locations.csv"].decode("utf-8-sig"))))
    assert (location["lat"], location["accuracy_m"]) == ("-33.8688", "12.5")  # numbers are left alone
    assert files["data/devices.json"] == b"[]\n"
    assert files["attachments/preservation-letter.txt"] == ATTACHMENTS[0][1]


def test_the_certificate_is_a_real_pdf_naming_the_custodian_and_every_hash(package: bytes) -> None:
    pypdf = pytest.importorskip("pypdf")
    files = members(package)
    pdf = files["certificate.pdf"]
    assert pdf.startswith(b"%PDF-")
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    flat = " ".join(text.split())
    for phrase in ("Priya Raghunathan", "Custodian of Records", "Rivertown Social Ltd", "LE-2026-0012",
                   "at or near the time", "regularly conducted activity", "regular practice",
                   "penalty of perjury under the laws of the United States of America", "Executed on 2026-01-02"):
        assert phrase in flat, phrase
    for entry in json.loads(files["manifest.json"])["files"]:
        if entry["path"] != "certificate.pdf":
            assert entry["sha256"] in flat and entry["path"] in flat


def test_names_in_any_script_print_exactly_or_the_build_refuses(signer: SigningKey,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    pypdf = pytest.importorskip("pypdf")
    info = CertificateInfo("\u092a\u094d\u0930\u093f\u092f\u093e \u0936\u0930\u094d\u092e\u093e Zo\u00eb", "Custodian",
                           "Rivertown Social Ltd", date(2026, 1, 2))
    small: dict[str, Any] = {"subscriber": [{"user_id": "1"}]}
    if any(path.is_file() for path in certificate_module.FONT_CANDIDATES):
        built = build_package(REQUEST, SCOPE, small, [], signer, info, clock=ManualClock())
        text = pypdf.PdfReader(io.BytesIO(members(built)["certificate.pdf"])).pages[0].extract_text()
        assert "Zo\u00eb" in text
    monkeypatch.setattr(certificate_module, "FONT_CANDIDATES", ())
    with pytest.raises(CertificateFontMissing, match="Unicode font"):
        build_package(REQUEST, SCOPE, small, [], signer, info, clock=ManualClock())
    latin = CertificateInfo("Zo\u00eb M\u00fcller", "Custodian", "Rivertown Social Ltd", date(2026, 1, 2))
    core = build_package(REQUEST, SCOPE, small, [], signer, latin, clock=ManualClock())  # core fonts cover Latin-1
    assert "M\u00fcller" in pypdf.PdfReader(io.BytesIO(members(core)["certificate.pdf"])).pages[0].extract_text()


@pytest.mark.parametrize(("change", "complaint"), [
    ({"datasets": {"messages": []}}, "not in the approved scope"),
    ({"scope": {"date_range": {"start": "2025-10-01"}}}, "approved data categories"),
    ({"scope": {"categories": ["Bad Name"]}, "datasets": {"Bad Name": []}}, "Dataset name"),
    ({"datasets": {"posts": [{"id": 1, "blob": b"raw"}]}}, "not plain data"),
    ({"datasets": {"posts": ["not a record"]}}, "must be an object"),
    ({"attachments": [("../etc/passwd", b"x")]}, "Attachment name"),
    ({"attachments": [("/etc/passwd", b"x")]}, "Attachment name"),
    ({"attachments": [("media/.hidden", b"x")]}, "Attachment name"),
    ({"attachments": [("a.txt", b"x"), ("A.TXT", b"y")]}, "Two attachments"),
    ({"request": {}}, "request must be a non-empty object"),
])
def test_bad_input_is_refused(signer: SigningKey, change: dict[str, Any], complaint: str) -> None:
    args: dict[str, Any] = {"request": REQUEST, "scope": SCOPE, "datasets": {"posts": DATASETS["posts"]},
                            "attachments": [], **change}
    with pytest.raises(InvalidInput, match=complaint):
        build_package(args["request"], args["scope"], args["datasets"], args["attachments"], signer, CUSTODIAN)


def test_a_declaration_can_be_replaced_by_a_jurisdictions_own_wording() -> None:
    with pytest.raises(InvalidInput, match="placeholder"):
        CertificateInfo("A", "B", "C", date(2026, 1, 2), declaration="I, {name}, ...").declaration_text()
    own = CertificateInfo("A", "B", "C", date(2026, 1, 2), declaration="Certificate under s.63 BSA by {custodian_name}.")
    assert own.declaration_text() == "Certificate under s.63 BSA by A."
