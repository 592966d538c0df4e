"""The evidence certificate: a PDF the custodian (and, where the form asks, an expert) signs, listing every file's hash.

Courts ask for a custodian's statement that produced records are business records
(US: Federal Rules of Evidence 803(6) and 902(11)/(13)/(14); India: the certificate of
Bharatiya Sakshya Adhiniyam 2023 s.63 in the Schedule's form, Part A by the person in charge
and Part B by an expert, with the records' hash values). The wording is data, not code: a
`CertificateForm` (from the legal catalogue) gives the parts, each signatory's statements, the
device/system block, the zone and format of the date and time, and an oath line;
`CertificateInfo.declaration` alone still replaces the default one-part text wholesale.

The PDF is laid out here by hand with fpdf2 because no library renders "a statutory form with
these statements and a hash annex"; the statements themselves come from the catalogue.

The PDF is rendered with a Unicode TrueType font when one is installed (custodians and
organisations have names in every script); without one, text outside Latin-1 is refused
rather than silently turned into question marks on a legal document.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from bastion.errors import InvalidInput
from bastion.production.errors import CertificateFontMissing

#: Unicode fonts tried in order (Debian: fonts-dejavu-core, fonts-liberation).
FONT_CANDIDATES: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
    Path("/Library/Fonts/Arial Unicode.ttf"),
)

DEFAULT_DECLARATION = (
    "I, {custodian_name}, am employed by {organisation} as {custodian_title}. I am a custodian of the records of "
    "{organisation}, or am otherwise qualified by my position to make this certification, and I am familiar with "
    "the manner in which its records are created and kept.\n\n"
    "The files listed below, identified by their SHA-256 hash values, are true and accurate copies of records of "
    "{organisation}. Those records were:\n"
    "(a) made at or near the time of the occurrence of the matters set forth in them, by, or from information "
    "transmitted by, a person with knowledge of those matters;\n"
    "(b) kept in the course of the regularly conducted activity of {organisation}; and\n"
    "(c) made by that regularly conducted activity as a regular practice.\n\n"
    "The records are kept in electronic systems that {organisation} relies on in the regular course of its "
    "business. The copies were extracted from those systems by an automated process, and each copy's SHA-256 hash "
    "value is listed below: any change to a file, however small, changes its hash value."
)


_OFFSET = re.compile(r"([+-])(\d\d):(\d\d)")
BLANK = "____________________"


@dataclass(frozen=True)
class FormPart:
    """One part of a certificate form, signed by the custodian or by the expert."""

    heading: str
    subtitle: str
    signatory: str  # "custodian" or "expert"
    statements: tuple[str, ...]


@dataclass(frozen=True)
class CertificateForm:
    """A jurisdiction's certificate form, as the legal catalogue states it (see bastion.legal.rules)."""

    key: str
    heading: str
    citation: str
    as_of: date
    parts: tuple[FormPart, ...]
    subheading: str = ""
    utc_offset: str = "+00:00"
    zone_label: str = "UTC"
    date_format: str = "%Y-%m-%d"
    date_label: str = "Date"
    hash_algorithm: str = "SHA-256"
    source_types: tuple[str, ...] = ()
    device_fields: tuple[tuple[str, str], ...] = ()
    annex: str = "ANNEX: FILES AND THEIR HASH VALUES"
    oath: str = ""

    def __post_init__(self) -> None:
        if not self.parts or any(p.signatory not in ("custodian", "expert") for p in self.parts):
            raise InvalidInput("A certificate form needs parts, each signed by the custodian or the expert.")
        if not _OFFSET.fullmatch(self.utc_offset):
            raise InvalidInput("A certificate form's utc_offset is like '+05:30'.")

    @classmethod
    def from_catalogue(cls, key: str, citation: str, as_of: date, body: dict[str, Any]) -> CertificateForm:
        parts = tuple(FormPart(str(p.get("heading", "")), str(p.get("subtitle", "")), str(p["signatory"]),
                               tuple(str(t) for t in p["statements"])) for p in body["parts"])
        return cls(key=key, heading=str(body.get("heading", "")), citation=citation, as_of=as_of, parts=parts,
                   subheading=str(body.get("subheading", "")), utc_offset=str(body.get("utc_offset", "+00:00")),
                   zone_label=str(body.get("zone_label", "UTC")), date_format=str(body.get("date_format", "%Y-%m-%d")),
                   date_label=str(body.get("date_label", "Date")),
                   hash_algorithm=str(body.get("hash_algorithm", "SHA-256")),
                   source_types=tuple(str(t) for t in body.get("source_types", [])),
                   device_fields=tuple((str(a), str(b)) for a, b in body.get("device_fields", [])),
                   annex=str(body.get("annex", "ANNEX: FILES AND THEIR HASH VALUES")), oath=str(body.get("oath", "")))

    def zone(self) -> timezone:
        sign, hours, minutes = _OFFSET.fullmatch(self.utc_offset).groups()  # type: ignore[union-attr]
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return timezone(-delta if sign == "-" else delta, self.zone_label)


@dataclass(frozen=True)
class CertificateInfo:
    """Who certifies, for whom, and when. With a `form`, the certificate follows it (parts, statements, expert);
    without one, `declaration` (with {placeholders}) replaces the default wording and `jurisdiction` adds an
    oath line, e.g. "the laws of the United States of America (28 U.S.C. 1746)". An empty `expert_name` leaves
    the expert's name and designation as lines to complete by hand."""

    custodian_name: str
    custodian_title: str
    organisation: str
    statement_date: date
    organisation_address: str = ""
    place: str = ""
    jurisdiction: str = ""
    declaration: str = DEFAULT_DECLARATION
    form: CertificateForm | None = None
    expert_name: str = ""
    expert_title: str = ""
    system: str = ""
    system_id: str = ""

    def __post_init__(self) -> None:
        for name in ("custodian_name", "custodian_title", "organisation"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip() or len(value) > 300:
                raise InvalidInput(f"The certificate's {name} must be 1 to 300 characters.")
        for name in ("expert_name", "expert_title", "system", "system_id", "place", "organisation_address"):
            if len(getattr(self, name)) > 500:
                raise InvalidInput(f"The certificate's {name} must be at most 500 characters.")
        if isinstance(self.statement_date, datetime) or not isinstance(self.statement_date, date):
            raise InvalidInput("The certificate's statement_date must be a date.")

    def declaration_text(self) -> str:
        try:
            return self.declaration.format(custodian_name=self.custodian_name, custodian_title=self.custodian_title,
                                           organisation=self.organisation)
        except (KeyError, IndexError, ValueError) as exc:
            raise InvalidInput(f"The certificate's declaration has an unknown placeholder: {exc}.") from None


@dataclass(frozen=True)
class CertifiedFile:
    path: str
    size: int
    sha256: str


def render_certificate(
    info: CertificateInfo,
    files: Sequence[CertifiedFile],
    *,
    package_id: str,
    created_at: datetime,
    key_id: str,
    request_reference: str = "",
    scope_lines: Sequence[str] = (),
    generator: str = "Bastion",
) -> bytes:
    """The certificate as PDF bytes."""
    if info.form is not None:
        return _render_form(info, info.form, files, package_id=package_id, created_at=created_at, key_id=key_id,
                            request_reference=request_reference, scope_lines=scope_lines, generator=generator)
    font = next((path for path in FONT_CANDIDATES if path.is_file()), None)
    body = _body(info, package_id, created_at, key_id, request_reference, scope_lines)
    if font is None:
        _require_latin1([*body, info.custodian_name, info.custodian_title, info.organisation,
                         info.organisation_address, info.place, info.jurisdiction])
    pdf = FPDF(format="A4")
    pdf.set_creation_date(created_at)
    pdf.set_title(f"Certificate of authenticity of business records - package {package_id}")
    pdf.set_author(info.custodian_name)
    pdf.set_creator(generator)
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    family = "Helvetica"
    if font is not None:
        pdf.add_font("body", fname=str(font))
        family = "body"

    def para(text: str, size: float = 10.5, height: float = 5.5, gap: float = 2.5) -> None:
        pdf.set_font(family, size=size)
        pdf.multi_cell(0, height, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(gap)

    para("CERTIFICATE OF AUTHENTICITY OF BUSINESS RECORDS", size=14, height=8, gap=4)
    for block in body:
        para(block)
    para(f"Files certified ({len(files)}), with their sizes and SHA-256 hash values:", gap=1.5)
    for item in files:
        pdf.set_font(family, size=9)
        pdf.multi_cell(0, 4.5, f"{item.path}  ({item.size} bytes)", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("Courier", size=8.5)
        pdf.multi_cell(0, 4.5, f"    SHA-256 {item.sha256}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(1)
    pdf.ln(4)
    if info.jurisdiction:
        para(f"I declare under penalty of perjury under {info.jurisdiction} that the foregoing is true and correct.")
    executed = f"Executed on {info.statement_date.isoformat()}" + (f" at {info.place}" if info.place else "") + "."
    para(executed, gap=10)
    para("Signature: ____________________________________", gap=1)
    org = info.organisation + (f", {info.organisation_address}" if info.organisation_address else "")
    para(f"{info.custodian_name}\n{info.custodian_title}\n{org}")
    return bytes(pdf.output())


def _body(info: CertificateInfo, package_id: str, created_at: datetime, key_id: str, request_reference: str,
          scope_lines: Sequence[str]) -> list[str]:
    facts = [f"Production package: {package_id}", f"Created: {created_at.isoformat(timespec='seconds')}"]
    if request_reference:
        facts.append(f"In response to: {request_reference}")
    facts.extend(scope_lines)
    facts.append(f"Package manifest signed with Ed25519 key {key_id}")
    return ["\n".join(facts), info.declaration_text()]


def _require_latin1(blocks: Sequence[str]) -> None:
    for block in blocks:
        try:
            block.encode("latin-1")
        except UnicodeEncodeError as exc:
            raise CertificateFontMissing(
                f"The certificate contains {block[exc.start:exc.end]!r}, which needs a Unicode font; install one "
                "(Debian: apt-get install fonts-dejavu-core) so names print exactly as written."
            ) from None


# -- a catalogue form (e.g. BSA s.63 Part A and Part B) ---------------------------------------------


class _Pdf:
    """The few layout moves a form needs, over one fpdf2 document."""

    def __init__(self, title: str, author: str, created_at: datetime, generator: str) -> None:
        self.font = next((path for path in FONT_CANDIDATES if path.is_file()), None)
        self.pdf = FPDF(format="A4")
        self.pdf.set_creation_date(created_at)
        self.pdf.set_title(title)
        self.pdf.set_author(author)
        self.pdf.set_creator(generator)
        self.pdf.set_margins(20, 20, 20)
        self.pdf.set_auto_page_break(True, margin=20)
        self.pdf.add_page()
        self.family = "Helvetica"
        if self.font is not None:
            self.pdf.add_font("body", fname=str(self.font))
            self.family = "body"

    def para(self, text: str, size: float = 10.5, height: float = 5.5, gap: float = 2.5) -> None:
        self.pdf.set_font(self.family, size=size)
        self.pdf.multi_cell(0, height, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.pdf.ln(gap)

    def mono(self, text: str) -> None:
        self.pdf.set_font("Courier", size=8.5)
        self.pdf.multi_cell(0, 4.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def output(self) -> bytes:
        return bytes(self.pdf.output())


def _render_form(info: CertificateInfo, form: CertificateForm, files: Sequence[CertifiedFile], *, package_id: str,
                 created_at: datetime, key_id: str, request_reference: str, scope_lines: Sequence[str],
                 generator: str) -> bytes:
    local = created_at.astimezone(form.zone())
    values = _form_values(info, form, files, key_id=key_id, request_reference=request_reference, local=local)
    blocks = [form.heading, form.subheading, *(line for part in form.parts for line in
                                                 _part_lines(info, form, part, values, local))]
    if _font_missing():
        _require_latin1([*blocks, *values.values(), *scope_lines])
    doc = _Pdf(f"{form.heading or 'Certificate'} - package {package_id}", info.custodian_name, created_at, generator)
    doc.para(form.heading, size=13, height=7, gap=1)
    if form.subheading:
        doc.para(form.subheading, size=10.5, gap=1)
    doc.para(f"Form: {form.citation} (legal catalogue, as of {form.as_of.isoformat()})", size=8.5, height=4.5, gap=3)
    facts = [f"Production package: {package_id}",
             f"Created: {local.strftime(form.date_format)} {local:%H:%M} {form.zone_label}",
             *( [f"In answer to: {request_reference}"] if request_reference else []), *scope_lines,
             f"Package manifest signed with Ed25519 key {key_id}"]
    doc.para("\n".join(facts), size=9.5, height=5, gap=4)
    for number, part in enumerate(form.parts):
        if number:
            doc.pdf.add_page()  # each part on its own page: signed, and if need be filed, on its own
        for index, line in enumerate(_part_lines(info, form, part, values, local)):
            doc.para(line, size=12 if index == 0 and part.heading else 10.5, gap=2.5)
    doc.pdf.add_page()
    doc.para(form.annex, size=12, height=7, gap=1.5)
    doc.para(f"{len(files)} files; {form.hash_algorithm} hash values, computed when the package was built:", gap=1.5)
    for item in files:
        doc.para(f"{item.path}  ({item.size} bytes)", size=9, height=4.5, gap=0)
        doc.mono(f"    {form.hash_algorithm} {item.sha256}")
        doc.pdf.ln(1)
    return doc.output()


def _font_missing() -> bool:
    return next((path for path in FONT_CANDIDATES if path.is_file()), None) is None


def _form_values(info: CertificateInfo, form: CertificateForm, files: Sequence[CertifiedFile], *, key_id: str,
                 request_reference: str, local: datetime) -> dict[str, str]:
    return {
        "organisation": info.organisation,
        "at_address": f", {info.organisation_address}" if info.organisation_address else "",
        "file_count": str(len(files)),
        "request_reference": request_reference or "the request",
        "algorithm": form.hash_algorithm,
        "key_id": key_id,
        "system": info.system or BLANK,
        "system_id": info.system_id or BLANK,
        "source_types": ", ".join(f"[x] {t}" for t in form.source_types) or BLANK,
        "created_at": f"{local.strftime(form.date_format)} {local:%H:%M} {form.zone_label}",
    }


def _signatory(info: CertificateInfo, part: FormPart) -> tuple[str, str]:
    if part.signatory == "expert":
        return info.expert_name or f"{BLANK} (name)", info.expert_title or f"{BLANK} (designation)"
    return info.custodian_name, info.custodian_title


def _fill(text: str, values: dict[str, str]) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    unknown = names - set(values)
    if unknown:
        raise InvalidInput(f"The certificate form names unknown placeholders {sorted(unknown)}.")
    return text.format(**values)


def _part_lines(info: CertificateInfo, form: CertificateForm, part: FormPart, values: dict[str, str],
                local: datetime) -> list[str]:
    name, title = _signatory(info, part)
    filled = {**values, "signatory_name": name, "signatory_title": title}
    lines = [part.heading + (f"\n({part.subtitle})" if part.subtitle else "")] if part.heading else []
    lines.extend(_fill(statement, filled) for statement in part.statements)
    if form.device_fields:
        lines.append("\n".join(f"{_fill(label, filled)}: {_fill(value, filled)}" for label, value in form.device_fields))
    if form.oath and part is form.parts[-1]:
        lines.append(form.oath)
    when = f"{form.date_label}: {local.strftime(form.date_format)}    Time ({form.zone_label}): {local:%H:%M} hours"
    lines.append("\n".join([
        "(Name and signature)", "", "Signature: ____________________________________",
        f"Name: {name}", f"Designation: {title}", f"Organisation: {info.organisation}"
        + (f", {info.organisation_address}" if info.organisation_address else ""),
        f"{when}    Place: {info.place or BLANK}",
    ]))
    return lines
