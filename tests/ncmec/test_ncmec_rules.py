"""What NCMEC refuses beyond the XSD is refused here first: by the approval check (so a reviewer sees
what to fix) and by the stand-in (as strict as NCMEC, answering 4100 and naming the element)."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources

import httpx
import pytest
from lxml import etree

from bastion.ncmec.draft import ip_only
from bastion.ncmec.errors import ReportValidationError
from bastion.ncmec.xml import validate_document
from tests.ncmec.conftest import PASSWORD, USERNAME

NOW = datetime(2026, 12, 4, tzinfo=UTC)


def _example(name: str) -> etree._Element:
    data = resources.files("bastion.ncmec").joinpath(f"examples/{name}").read_bytes()
    return etree.fromstring(data)


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _refused(root: etree._Element) -> list[str]:
    with pytest.raises(ReportValidationError) as caught:
        validate_document(_bytes(root), now=NOW)
    assert caught.value.code == 4100
    return [f"{i.element}: {i.message}" for i in caught.value.issues]


def test_a_reporting_person_with_a_phone_alone_is_refused() -> None:
    report = _example("report-full.xml")
    for email in report.findall("reporter/reportingPerson/email"):
        email.getparent().remove(email)
    [issue] = _refused(report)
    assert issue.startswith("reportingPerson: ") and "email" in issue


@pytest.mark.parametrize("bad", ["203.0.113.7:51234", "[2001:db8::1]", "host.example.org", "999.1.1.1", ""])
def test_an_ip_address_must_be_an_address_alone(bad: str) -> None:
    report = _example("report-full.xml")
    report.find(".//ipAddress").text = bad
    [issue] = _refused(report)
    assert issue.startswith("ipAddress: ") and "not an IP address" in issue


@pytest.mark.parametrize(("tag", "value"), [("port", "0"), ("port", "65536"), ("age", "151"), ("age", "-1")])
def test_ports_and_ages_stay_in_range(tag: str, value: str) -> None:
    details = _example("file-details.xml")
    event = details.find("ipCaptureEvent")
    if tag == "port":
        etree.SubElement(event, "port").text = value
        root = details
    else:
        root = _example("report-full.xml")
        ages = root.findall(".//age")
        assert ages, "the full example carries an age"
        ages[0].text = value
    issues = _refused(root)
    assert any(i.startswith(f"{tag}: ") for i in issues), issues


def test_timestamps_cannot_lie_in_the_future_but_drafts_render() -> None:
    report = _example("report-minimal.xml")
    report.find("incidentSummary/incidentDateTime").text = "2027-01-01T00:00:00Z"
    [issue] = _refused(report)
    assert "in the future" in issue
    validate_document(_bytes(report))  # rendering a draft has no filing time: approval checks it


def test_a_phone_extension_is_digits_only() -> None:
    report = _example("report-full.xml")
    report.find("reporter/reportingPerson/phone").set("extension", "12a")
    [issue] = _refused(report)
    assert issue.startswith("phone: ") and "digits only" in issue


def test_a_file_carries_potential_meme_or_annotations_not_both() -> None:
    details = _example("file-details.xml")
    meme = etree.Element("potentialMeme")
    meme.text = "true"
    details.find("fileRelevance").addnext(meme)
    [issue] = _refused(details)
    assert "not both" in issue


def test_the_standin_is_as_strict_as_ncmec(standin) -> None:  # type: ignore[no-untyped-def]
    report = _example("report-minimal.xml")
    for email in report.findall("reporter/reportingPerson/email"):
        email.getparent().remove(email)
    etree.SubElement(report.find("reporter/reportingPerson"), "phone").text = "555-0100"
    reply = httpx.post(f"{standin.base_url}/submit", content=_bytes(report), auth=(USERNAME, PASSWORD),
                       headers={"Content-Type": "text/xml; charset=utf-8"})
    assert b"<responseCode>4100</responseCode>" in reply.content and b"email" in reply.content


@pytest.mark.parametrize(("sent", "kept"), [("203.0.113.7:51234", "203.0.113.7"), (" 192.0.2.1 ", "192.0.2.1"),
                                            ("[2001:db8::1]:443", "2001:db8::1"), ("2001:db8::2", "2001:db8::2"),
                                            ("unknown", None), ("", None), (None, None)])
def test_a_platforms_client_address_is_reduced_to_the_ip(sent: str | None, kept: str | None) -> None:
    assert ip_only(sent) == kept


# NCMEC's own XSD (served at /ispws/xsd; a copy is public in Boostport/ncmec-go,
# cybertipline/generate/cyber_tipline.xsd, read 2026-12-04) requires batchedReport/@reason and allows only
# VIRAL_POTENTIAL_MEME; it publishes no string length limits (no maxLength facet anywhere).
@pytest.mark.parametrize("reason", [None, "", "VIRAL", "viral_potential_meme"])
def test_a_batched_report_names_its_one_documented_reason(reason: str | None) -> None:
    report = _example("report-full.xml")
    batched = report.find("batchedReport")
    batched.attrib.pop("reason")
    if reason is not None:
        batched.set("reason", reason)
    with pytest.raises(ReportValidationError) as caught:
        validate_document(_bytes(report), now=NOW)
    assert any("reason" in i.message for i in caught.value.issues), caught.value.issues


def test_the_standin_refuses_a_batched_report_without_its_reason(standin) -> None:  # type: ignore[no-untyped-def]
    report = _example("report-minimal.xml")
    report.insert(0, etree.Element("batchedReport"))
    reply = httpx.post(f"{standin.base_url}/submit", content=_bytes(report), auth=(USERNAME, PASSWORD),
                       headers={"Content-Type": "text/xml; charset=utf-8"})
    assert b"<responseCode>4100</responseCode>" in reply.content
    assert b"batchedReport" in reply.content and b"'reason' is required" in reply.content
