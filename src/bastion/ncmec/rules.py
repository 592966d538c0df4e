"""What NCMEC refuses beyond the XSD: the business rules of the CyberTipline reporting API.

A document can pass the schema and still be refused with 4100 (validation failed). Checking the
same rules here, before approval and again in the stand-in, means a reviewer sees what to fix
instead of a report that fails at filing time. Each rule is small and names the element it
rejects, so the message can point at the line.

Rules (issue 14 item 6, from NCMEC's published technical documentation):

* the reporting person has an email address (a phone alone is refused);
* every `ipAddress` is an IP address, nothing else (no port, no brackets, no host name);
* a `port` is 1 to 65535, an `age` 0 to 150;
* no timestamp lies in the future (a little clock skew is allowed);
* a phone `extension` is digits only;
* a file carries `potentialMeme` or `fileAnnotations`, never both.

Not checked here, and why: maximum string lengths and further batched-report rules. NCMEC's XSD
(copy in github.com/Boostport/ncmec-go, cybertipline/generate/cyber_tipline.xsd, checked
2026-12-04) declares no length limit, and its only batched-report rule (`reason` required, one
value) is in Bastion's XSD already; the technical documentation that may say more could not be
reached, and a limit guessed here would refuse reports NCMEC accepts.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from lxml import etree

from bastion.ncmec.errors import ValidationIssue

#: How far in the future a timestamp may be before it is refused (clocks disagree a little).
CLOCK_SKEW = timedelta(minutes=5)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$")


def _path(element: etree._Element) -> str:
    return element.getroottree().getpath(element)


def _issue(element: etree._Element, message: str) -> ValidationIssue:
    return ValidationIssue(element.sourceline, None, str(element.tag), _path(element), message)


def _elements(root: etree._Element, tag: str) -> Iterator[etree._Element]:
    return (e for e in root.iter(tag) if isinstance(e.tag, str))


def _ip_addresses(root: etree._Element, now: datetime) -> Iterator[ValidationIssue]:
    for element in _elements(root, "ipAddress"):
        text = (element.text or "").strip()
        try:
            ipaddress.ip_address(text)
        except ValueError:
            yield _issue(element, f"{text!r} is not an IP address: give the address alone (e.g. 203.0.113.7 or "
                                  "2001:db8::1), without a port or brackets")


def _ranges(root: etree._Element, now: datetime) -> Iterator[ValidationIssue]:
    for tag, low, high in (("port", 1, 65535), ("age", 0, 150)):
        for element in _elements(root, tag):
            text = (element.text or "").strip()
            if not text.lstrip("-").isdigit() or not low <= int(text) <= high:
                yield _issue(element, f"<{tag}> must be a whole number from {low} to {high}, not {text!r}")


def _moments(root: etree._Element) -> Iterator[tuple[etree._Element, str, str]]:
    """(element, where, value) for every element text or attribute that is an xs:dateTime."""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        text = (element.text or "").strip()
        if len(element) == 0 and _DATETIME.match(text):
            yield element, f"<{element.tag}>", text
        for name, value in element.attrib.items():
            if _DATETIME.match(value.strip()):
                yield element, f"<{element.tag} {name}>", value.strip()


def _future(root: etree._Element, now: datetime) -> Iterator[ValidationIssue]:
    for element, where, value in _moments(root):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            continue
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if moment > now + CLOCK_SKEW:
            yield _issue(element, f"{where} is {value}, in the future: NCMEC refuses timestamps later than now")


def _extensions(root: etree._Element, now: datetime) -> Iterator[ValidationIssue]:
    for element in _elements(root, "phone"):
        extension = element.get("extension")
        if extension is not None and not extension.isdigit():
            yield _issue(element, f"the phone extension must be digits only, not {extension!r}")


def _reporter_email(root: etree._Element, now: datetime) -> Iterator[ValidationIssue]:
    for person in _elements(root, "reportingPerson"):
        if not any((e.text or "").strip() for e in person.findall("email")):
            yield _issue(person, "the reporting person needs an email address (a phone alone is refused): set "
                                 "reports.reporter_email in the organisation settings and redraft")


def _meme_or_annotations(root: etree._Element, now: datetime) -> Iterator[ValidationIssue]:
    for details in root.iter("fileDetails", "file"):
        if details.find("potentialMeme") is not None and details.find("fileAnnotations") is not None:
            yield _issue(details.find("potentialMeme"), "a file carries <potentialMeme> or <fileAnnotations>, not "
                                                        "both: use fileAnnotations/potentialMeme")


RULES: tuple[Callable[[etree._Element, datetime], Iterator[ValidationIssue]], ...] = (
    _reporter_email, _ip_addresses, _ranges, _future, _extensions, _meme_or_annotations,
)


def check(root: etree._Element, *, now: datetime | None = None) -> list[ValidationIssue]:
    """Every business-rule violation in a parsed report or fileDetails document, in rule order.

    `now` is the filing time; without it (rendering a draft, which has no filing time yet) the
    future-timestamp rule is left to approval and to the receiving end.
    """
    rules = RULES if now is not None else tuple(r for r in RULES if r is not _future)
    moment = now or datetime.now(UTC)
    return [issue for rule in rules for issue in rule(root, moment)]
