"""Schema, models and rendering: the XSD, the examples and the models agree."""

from __future__ import annotations

import types
import typing
from datetime import UTC, date, datetime
from enum import Enum
from importlib import resources
from pathlib import Path

import pytest
from lxml import etree
from pydantic import AwareDatetime, BaseModel, ValidationError

from bastion.ncmec import model as m
from bastion.ncmec.errors import MalformedXmlError, ReportValidationError
from bastion.ncmec.xml import parse_untrusted, render, schema_bytes, to_element, validate_document
from tests.ncmec.hostile import secret_file, xxe_document

from .conftest import make_report

EXAMPLES = sorted(Path(str(resources.files("bastion.ncmec") / "examples")).glob("*.xml"))
XS = "{http://www.w3.org/2001/XMLSchema}"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_validates(path: Path) -> None:
    root = validate_document(path.read_bytes(), now=datetime.now(UTC))  # and keeps NCMEC's own rules
    assert root.tag in {"report", "fileDetails"}


def test_examples_cover_both_documents() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"report-minimal.xml", "report-full.xml", "file-details.xml"} <= names


# -- the models render every field in a schema-valid position --------------------

_SCALARS: dict[tuple[str, str], object] = {
    ("Address", "state"): "IL",
    ("Address", "country"): "US",
    ("EstimatedLocation", "country_code"): "CA",
    ("ServedLegalProcessInternational", "flea_country"): "GB",
    ("Phone", "country_calling_code"): "+1",
    ("CellPhoneIncident", "latitude"): 38.5,
    ("IpCaptureEvent", "ip_address"): "192.0.2.7",  # NCMEC refuses anything but an IP address here
    ("Phone", "extension"): "12",
    ("CellPhoneIncident", "longitude"): -77.25,
}


def _sample(owner: str, field: str, annotation: object) -> object:
    if (owner, field) in _SCALARS:
        return _SCALARS[(owner, field)]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _sample(owner, field, typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return _sample(owner, field, next(a for a in typing.get_args(annotation) if a is not type(None)))
    if origin is list:
        item = typing.get_args(annotation)[0]
        return [_sample(owner, field, item), _sample(owner, field, item)]
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return maximal(annotation)
        if issubclass(annotation, Enum):
            return list(annotation)[-1]
        if annotation is bool:
            return True
        if annotation is int:
            return 7
        if annotation is float:
            return 1.5
        if annotation in (datetime, AwareDatetime):
            return datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
        if annotation is date:
            return date(2000, 2, 29)
        if annotation is str:
            return f"synthetic {field}"
    raise AssertionError(f"no sample for {owner}.{field}: {annotation!r}")


def maximal(cls: type[BaseModel]) -> BaseModel:
    """An instance of ``cls`` with every field set (both list items included)."""
    if cls is m.InternetDetails:
        return m.InternetDetails(web_page_incident=maximal(m.WebPageIncident))
    values = {name: _sample(cls.__name__, name, info.annotation) for name, info in cls.model_fields.items()}
    if cls is m.FileDetails:
        values["file_relevance"] = m.FileRelevance.REPORTED
        values["potential_meme"] = None  # NCMEC takes potentialMeme or fileAnnotations, never both
    return cls(**values)


INCIDENT_FIELDS = list(m.InternetDetails.model_fields)


@pytest.mark.parametrize("document", ["report", "fileDetails"])
def test_a_document_with_every_field_set_is_schema_valid(document: str) -> None:
    cls = m.Report if document == "report" else m.FileDetails
    instance = maximal(cls)
    if isinstance(instance, m.Report):  # one internetDetails record per incident medium
        instance.internet_details = [
            m.InternetDetails(**{name: _sample("InternetDetails", name, info.annotation)})
            for name, info in m.InternetDetails.model_fields.items()
        ]
    data = render(instance)  # raises on any element out of schema order
    root = etree.fromstring(data)
    assert len(root.findall("internetDetails")) == (len(INCIDENT_FIELDS) if document == "report" else 0)


def _xsd_enum(type_name: str) -> set[str]:
    tree = etree.fromstring(schema_bytes())
    simple = tree.find(f"{XS}simpleType[@name='{type_name}']")
    assert simple is not None, type_name
    return {e.get("value") for e in simple.iter(f"{XS}enumeration")}


@pytest.mark.parametrize(
    ("enum", "xsd_type"),
    [
        (m.IncidentType, "IncidentTypeCode"),
        (m.EventName, "EventNameCode"),
        (m.FileRelevance, "FileRelevanceCode"),
        (m.IndustryClassification, "IndustryClassificationCode"),
        (m.MetadataKind, "MetadataKindCode"),
        (m.AddressKind, "AddressKindCode"),
        (m.EmailKind, "EmailKindCode"),
        (m.PhoneKind, "PhoneKindCode"),
        (m.AssociatedAccountKind, "AssociatedAccountKindCode"),
        (m.BatchedReportReason, "BatchedReportReasonCode"),
    ],
)
def test_model_enums_match_the_xsd(enum: type[Enum], xsd_type: str) -> None:
    assert {e.value for e in enum} == _xsd_enum(xsd_type)


def test_industry_classification_is_exactly_the_industry_scale() -> None:
    assert _xsd_enum("IndustryClassificationCode") == {"A1", "A2", "B1", "B2"}


# -- rendering details ---------------------------------------------------------------


def test_flags_render_as_empty_elements_and_false_is_omitted() -> None:
    summary = make_report().incident_summary.model_copy(
        update={"report_annotations": m.ReportAnnotations(sextortion=True, spam=False)}
    )
    element = to_element(summary, "incidentSummary")
    annotations = element.find("reportAnnotations")
    assert [child.tag for child in annotations] == ["sextortion"]
    assert annotations[0].text is None


def test_datetimes_are_rendered_in_utc() -> None:
    from datetime import timedelta, timezone

    report = make_report()
    report.incident_summary.incident_date_time = datetime(2030, 1, 1, 10, 0, tzinfo=timezone(timedelta(hours=2)))
    assert b"<incidentDateTime>2030-01-01T08:00:00Z</incidentDateTime>" in render(report)


def test_naive_datetimes_are_refused_by_the_model() -> None:
    with pytest.raises(ValidationError):
        m.IncidentSummary(incident_type=m.IncidentType.CHILD_SEX_TOURISM, incident_date_time=datetime(2030, 1, 1))


def test_internet_details_needs_exactly_one_incident() -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        m.InternetDetails()
    with pytest.raises(ValidationError, match="exactly one"):
        m.InternetDetails(web_page_incident=m.WebPageIncident(), chat_im_incident=m.ChatImIncident())


def test_supplemental_files_cannot_be_classified() -> None:
    with pytest.raises(ValidationError, match="Supplemental"):
        m.FileDetails(report_id=1, file_id="f", file_relevance=m.FileRelevance.SUPPLEMENTAL_REPORTED,
                      industry_classification=m.IndustryClassification.A2)


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        m.Victim(favourite_colour="blue")  # type: ignore[call-arg]


# -- validation errors name the element and the line ---------------------------------------


def test_validation_error_names_element_and_line() -> None:
    report = make_report()
    report.reporter.reporting_person.addresses = [m.Address(city="Springfield", state="ZZ")]
    with pytest.raises(ReportValidationError) as caught:
        render(report)
    error = caught.value
    assert error.element == "state"
    assert error.line is not None and error.line > 1
    assert error.code == 4100 and error.request_id is None
    assert "state" in str(error) and f"line {error.line}" in str(error)


def test_out_of_order_document_is_refused_with_its_element() -> None:
    document = (
        b"<report>\n<reporter><reportingPerson/></reporter>\n"
        b"<incidentSummary><incidentType>Child Sex Tourism</incidentType>"
        b"<incidentDateTime>2030-01-01T00:00:00Z</incidentDateTime></incidentSummary>\n</report>"
    )
    with pytest.raises(ReportValidationError) as caught:
        validate_document(document, expected_root="report")
    assert caught.value.element == "reporter"
    assert caught.value.line == 2


def test_flag_with_false_content_is_refused() -> None:
    document = (
        b"<fileDetails><reportId>1</reportId><fileId>f</fileId>"
        b"<fileAnnotations><viral>false</viral></fileAnnotations></fileDetails>"
    )
    with pytest.raises(ReportValidationError) as caught:
        validate_document(document)
    assert caught.value.element == "viral"


def test_wrong_root_is_refused() -> None:
    file_details = next(p for p in EXAMPLES if p.name.startswith("file-details")).read_bytes()
    with pytest.raises(ReportValidationError, match="expected a <report>"):
        validate_document(file_details, expected_root="report")


def test_text_that_xml_cannot_carry_is_a_validation_error() -> None:
    report = make_report(additional_info="bell \x07 character")
    with pytest.raises(ReportValidationError) as caught:
        render(report)
    assert caught.value.element == "additionalInfo"


# -- hardened parsing of documents ------------------------------------------------------------


def test_xxe_in_a_document_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MalformedXmlError) as caught:
        parse_untrusted(xxe_document(secret_file(tmp_path, "SECRET-MARKER-91")))
    assert "SECRET-MARKER-91" not in str(caught.value)
    assert caught.value.code == 4110


def test_entity_expansion_is_refused() -> None:
    payload = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<r>&b;</r>"
    )
    with pytest.raises(MalformedXmlError):
        parse_untrusted(payload)


def test_malformed_xml_is_refused() -> None:
    with pytest.raises(MalformedXmlError, match="line 1"):
        validate_document(b"<report><incidentSummary></report>")
