"""The cover letter that goes with a package to an authority (a PDF, in the package and on paper)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from bastion.production.certificate import FONT_CANDIDATES


def cover_letter(*, organisation: str, recipient: str, subject: str, reference: str, citation: str,
                 paragraphs: Sequence[str], contents: Sequence[str], signatory: str, title: str,
                 written_at: datetime) -> bytes:
    """A one- or two-page letter: who writes to whom, under which rule, and what the package holds."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=18)
    font = next((path for path in FONT_CANDIDATES if path.is_file()), None)
    family = "body" if font else "Helvetica"
    if font:
        pdf.add_font("body", fname=str(font))
    pdf.add_page()

    def line(text: str, size: float = 10.5, gap: float = 2.0) -> None:
        pdf.set_font(family, size=size)
        pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(gap)

    line(organisation, 13)
    line(f"Date: {written_at:%d %B %Y} · Reference: {reference}")
    line(f"To: {recipient}")
    line(f"Subject: {subject}", 11.5, 4)
    for paragraph in paragraphs:
        line(paragraph)
    line(f"Under {citation}, the enclosed signed package holds:", gap=1)
    for item in contents:
        line(f"•  {item}", gap=1)
    pdf.ln(4)
    line("The package is signed (manifest.sig over manifest.json, Ed25519); every file's SHA-256 is listed in the "
         "manifest and on the enclosed certificate. Verify it with `bastion production verify` and our published "
         "key. The material is child sexual abuse material: handle it only as the law permits.")
    pdf.ln(6)
    line(signatory, gap=0)
    line(title)
    return bytes(pdf.output())
