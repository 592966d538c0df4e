"""XML rendering, XSD validation and hardened parsing for CyberTipline documents.

Three rules hold here:

* Rendering follows model field order, which is the schema's element order.
* Nothing is sent that has not passed Bastion's XSD: :func:`render` validates
  the exact bytes it returns, pretty-printed so that a failure's line number
  points at one element.
* Untrusted XML (NCMEC replies, documents posted to the stand-in) is parsed
  with DTDs refused outright, entities unresolved and the network off, so an
  XXE or entity-expansion payload fails instead of being expanded.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from functools import cache
from importlib import resources
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException
from lxml import etree
from pydantic import BaseModel

from bastion.ncmec.errors import (
    MalformedXmlError,
    NcmecProtocolError,
    ReportValidationError,
    ValidationIssue,
)
from bastion.ncmec.model import XML_FLAG, XML_TEXT, FileDetails, Report, SchemaNode, XmlAttr

__all__ = [
    "ReplyDocument",
    "parse_reply",
    "parse_untrusted",
    "render",
    "render_report_done_response",
    "render_report_response",
    "schema",
    "schema_bytes",
    "to_element",
    "validate_document",
]

_ELEMENT_IN_MESSAGE = re.compile(r"Element '([^']+)'")


# -- schema ---------------------------------------------------------------------


@cache
def schema_bytes() -> bytes:
    """Bastion's XSD, as shipped inside the package."""
    return (resources.files("bastion.ncmec") / "schema" / "cybertipline.xsd").read_bytes()


_per_thread = threading.local()


def schema() -> etree.XMLSchema:
    """The compiled XSD, one instance per thread (lxml validators keep per-call state)."""
    compiled: etree.XMLSchema | None = getattr(_per_thread, "schema", None)
    if compiled is None:
        compiled = etree.XMLSchema(etree.fromstring(schema_bytes(), _hardened_parser()))
        _per_thread.schema = compiled
    return compiled


# -- rendering --------------------------------------------------------------------


def _lexical(value: object) -> str:
    """The XSD lexical form of a scalar."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        # Normalise to UTC with a Z suffix: unambiguous and what NCMEC's examples use.
        text = value.astimezone(UTC).isoformat(timespec="milliseconds" if value.microsecond else "seconds")
        return text.removesuffix("+00:00") + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _set_text(element: etree._Element, value: object) -> None:
    try:
        element.text = _lexical(value)
    except ValueError as exc:  # lxml refuses control characters XML cannot carry
        raise ReportValidationError(
            f"value for <{element.tag}> cannot be represented in XML: {exc}",
            issues=[ValidationIssue(None, None, str(element.tag), None, str(exc))],
        ) from exc


def to_element(node: SchemaNode, tag: str) -> etree._Element:
    """Build the element for ``node`` (unvalidated; see :func:`render`)."""
    element = etree.Element(tag)
    for name, info in type(node).model_fields.items():
        value = getattr(node, name)
        xml_name = info.alias or name
        markers = info.metadata
        if XML_TEXT in markers:
            _set_text(element, value)
            continue
        attribute = next((m for m in markers if isinstance(m, XmlAttr)), None)
        if attribute is not None:
            if value is not None:
                element.set(attribute.name, _lexical(value))
            continue
        if XML_FLAG in markers:
            if value:
                etree.SubElement(element, xml_name)
            continue
        for item in value if isinstance(value, list) else (value,):
            if item is None:
                continue
            if isinstance(item, BaseModel):
                element.append(to_element(item, xml_name))  # type: ignore[arg-type]
            else:
                _set_text(etree.SubElement(element, xml_name), item)
    return element


def render(document: Report | FileDetails) -> bytes:
    """Serialise ``document`` in schema order and validate the result.

    Returns UTF-8 bytes with an XML declaration; raises
    :class:`ReportValidationError` naming the element and line on failure.
    """
    root = to_element(document, document.xml_tag)
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    validate_document(data, expected_root=document.xml_tag)
    return data


# -- parsing and validation of untrusted documents -----------------------------------------


def _hardened_parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not meant to be shared across threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_untrusted(data: bytes) -> etree._Element:
    """Parse ``data``; refuse anything not well-formed or carrying a DTD.

    A DTD is refused rather than ignored: no CyberTipline document needs one,
    and it is the carrier of XXE and entity-expansion attacks.
    """
    try:
        root = etree.fromstring(data, _hardened_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) else None
        raise MalformedXmlError(f"not well-formed XML (line {line}): {exc.msg}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise MalformedXmlError("XML with a DOCTYPE/DTD is not accepted")
    return root


def _issues(log: Iterable[etree._LogEntry]) -> list[ValidationIssue]:
    issues = []
    for entry in log:
        match = _ELEMENT_IN_MESSAGE.search(entry.message or "")
        element = match.group(1) if match else None
        if element is None and entry.path:
            element = entry.path.rsplit("/", 1)[-1].split("[", 1)[0] or None
        issues.append(ValidationIssue(entry.line, entry.column, element, entry.path, entry.message))
    return issues


def validate_document(data: bytes, *, expected_root: str | None = None, now: datetime | None = None
                      ) -> etree._Element:
    """Parse and XSD-validate a document, then check NCMEC's business rules; return its root element.

    Raises :class:`MalformedXmlError` (4110) or :class:`ReportValidationError` (4100). `now` is
    when the document is filed (timestamps after it are refused; see `bastion.ncmec.rules`).
    """
    root = parse_untrusted(data)
    if expected_root is not None and root.tag != expected_root:
        issue = ValidationIssue(root.sourceline, None, str(root.tag), "/" + str(root.tag),
                                f"expected a <{expected_root}> document")
        raise ReportValidationError(f"validation failed: {issue}", issues=[issue])
    validator = schema()
    if not validator.validate(root.getroottree()):
        issues = _issues(validator.error_log)
        raise ReportValidationError(f"validation failed: {issues[0]}", issues=issues)
    from bastion.ncmec import rules

    broken = rules.check(root, now=now)
    if broken:
        raise ReportValidationError(f"validation failed: {broken[0]}", issues=broken)
    return root


# -- replies ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReplyDocument:
    """What a ``reportResponse`` or ``reportDoneResponse`` says."""

    root: str
    response_code: int
    description: str | None = None
    report_id: int | None = None
    file_id: str | None = None
    md5: str | None = None
    file_ids: tuple[str, ...] = ()


_REPLY_ROOTS = frozenset({"reportResponse", "reportDoneResponse"})


def _int_child(root: Element, tag: str, *, required: bool = False) -> int | None:
    text = (root.findtext(tag) or "").strip()
    if not text:
        if required:
            raise NcmecProtocolError(f"reply has no <{tag}>")
        return None
    try:
        return int(text)
    except ValueError:
        raise NcmecProtocolError(f"reply <{tag}> is not an integer") from None


def _text_child(root: Element, tag: str) -> str | None:
    child = root.find(tag)
    if child is None or child.text is None:
        return None
    return child.text.strip()


def parse_reply(body: bytes) -> ReplyDocument:
    """Parse a reply with defusedxml: DTDs, entities and external references are refused."""
    try:
        root: Element = SafeElementTree.fromstring(
            body, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise NcmecProtocolError(f"reply refused: forbidden XML construct ({type(exc).__name__})") from None
    except SafeElementTree.ParseError as exc:
        raise NcmecProtocolError(f"reply is not well-formed XML: {exc}") from None
    except (LookupError, ValueError) as exc:  # a declared encoding expat cannot read (unknown, multi-byte)
        raise NcmecProtocolError(f"reply declares an encoding that cannot be read: {exc}") from None
    if root.tag not in _REPLY_ROOTS:
        raise NcmecProtocolError(f"unexpected reply document <{root.tag}>")
    files = root.find("files")
    file_ids = tuple((f.text or "").strip() for f in files.findall("fileId")) if files is not None else ()
    return ReplyDocument(
        root=root.tag,
        response_code=_int_child(root, "responseCode", required=True),  # type: ignore[arg-type]
        description=_text_child(root, "responseDescription"),
        report_id=_int_child(root, "reportId"),
        file_id=_text_child(root, "fileId"),
        md5=_text_child(root, "hash"),
        file_ids=file_ids,
    )


def _serialise(root: etree._Element) -> bytes:
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return data


def render_report_response(
    code: int,
    description: str,
    *,
    report_id: int | None = None,
    file_id: str | None = None,
    md5: str | None = None,
) -> bytes:
    """A ``reportResponse`` document (used by the stand-in)."""
    root = etree.Element("reportResponse")
    etree.SubElement(root, "responseCode").text = str(code)
    etree.SubElement(root, "responseDescription").text = description
    for tag, value in (("reportId", report_id), ("fileId", file_id), ("hash", md5)):
        if value is not None:
            etree.SubElement(root, tag).text = str(value)
    return _serialise(root)


def render_report_done_response(report_id: int, file_ids: Iterable[str]) -> bytes:
    """A successful ``reportDoneResponse`` document (used by the stand-in)."""
    root = etree.Element("reportDoneResponse")
    etree.SubElement(root, "responseCode").text = "0"
    etree.SubElement(root, "reportId").text = str(report_id)
    files = etree.SubElement(root, "files")
    for file_id in file_ids:
        etree.SubElement(files, "fileId").text = file_id
    return _serialise(root)
