"""The business-records certificate: a PDF a custodian signs, listing every file's hash.

Courts ask for a custodian's statement that produced records are business records
(US: Federal Rules of Evidence 803(6) and 902(11)/(13)/(14); India: the certificate of
Bharatiya Sakshya Adhiniyam 2023 s.63, which asks for hash values). The wording is data,
not code: `CertificateInfo.declaration` replaces the default text wholesale, so the legal
desk can supply each jurisdiction's form from its catalogue.

The PDF is rendered with a Unicode TrueType font when one is installed (custodians and
organisations have names in every script); without one, text outside Latin-1 is refused
rather than silently turned into question marks on a legal document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

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


@dataclass(frozen=True)
class CertificateInfo:
    """Who certifies, for whom, and when. `declaration` (with {placeholders}) replaces the default wording;
    `jurisdiction` adds an oath line, e.g. "the laws of the United States of America (28 U.S.C. 1746)"."""

    custodian_name: str
    custodian_title: str
    organisation: str
    statement_date: date
    organisation_address: str = ""
    place: str = ""
    jurisdiction: str = ""
    declaration: str = DEFAULT_DECLARATION

    def __post_init__(self) -> None:
        for name in ("custodian_name", "custodian_title", "organisation"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip() or len(value) > 300:
                raise InvalidInput(f"The certificate's {name} must be 1 to 300 characters.")
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
