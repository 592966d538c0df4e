"""Reports as PDF: tables of the figures, the charts, and the status on every page.

Rendered only from the figures dict (the creation date too, from the report's `as_of` or its
period's end), so the same figures always give the same bytes: that is what lets a published
report be rebuilt and compared. The core Helvetica font keeps the output identical on any machine;
text outside Latin-1 (a bank's name, a correction note) prints with '?' in its place.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from bastion.reports.charts import charts_for, png
from bastion.reports.complaints import category_titles
from bastion.reports.proactive import TITLES as CLASS_TITLES

PROVISIONAL = "PROVISIONAL: the period {period} has not closed yet; these figures will change."


def latin1(text: Any) -> str:
    return str(text).encode("latin-1", "replace").decode("latin-1")


class _Document(FPDF):
    """A4 pages whose header says what the report is and, until its period closes, that it is provisional."""

    def __init__(self, report: dict[str, Any]) -> None:
        super().__init__(format="A4")
        self.report = report
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(True, margin=18)

    def header(self) -> None:
        self.set_font("Helvetica", size=8)
        self.set_text_color(90, 90, 90)
        version = self.report.get("version")
        label = f"{self.report['title']} - {self.report['period']}" + (f" - version {version}" if version else "")
        self.cell(0, 5, latin1(label), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if self.report["provisional"]:
            self.set_font("Helvetica", "B", 10)
            self.set_text_color(180, 0, 0)
            self.cell(0, 6, PROVISIONAL.format(period=self.report["period"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}} - aggregates only: no account, content or officer is named",
                  align="C")


def report_pdf(report: dict[str, Any]) -> bytes:
    pdf = _Document(report)
    pdf.set_creation_date(_as_of(report))
    pdf.set_title(latin1(f"{report['title']} {report['period']}"))
    pdf.set_creator("Bastion")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(0, 8, latin1(report["title"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=10)
    status = "Provisional" if report["provisional"] else "Final"
    pdf.multi_cell(0, 5.5, f"Period: {report['period']} ({report['since']} to {report['until']}, UTC, end exclusive). "
                           f"Status: {status}.", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _correction(pdf, report)
    if report["kind"] == "india-monthly":
        _india(pdf, report)
    elif report["kind"] == "dsa-transparency":
        _dsa(pdf, report)
    else:
        _law_enforcement(pdf, report)
    for chart in charts_for(report):
        if pdf.get_y() > 190:
            pdf.add_page()
        pdf.ln(3)
        pdf.image(io.BytesIO(png(chart)), w=180)
    return bytes(pdf.output())


def _as_of(report: dict[str, Any]) -> datetime:
    if report.get("as_of"):
        return datetime.fromisoformat(report["as_of"]).astimezone(UTC)
    return datetime.fromisoformat(report["until"]).replace(tzinfo=UTC)


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 12)
    pdf.multi_cell(0, 7, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", size=9)


def _table(pdf: FPDF, header: list[str], rows: list[list[Any]], widths: tuple[int, ...] | None = None,
           size: float = 8.5) -> None:
    pdf.set_font("Helvetica", size=size)
    with pdf.table(col_widths=widths, text_align="LEFT", line_height=5, first_row_as_headings=True) as table:
        for values in [header, *rows]:
            row = table.row()
            for value in values:
                row.cell(latin1("" if value is None else value))


def _pairs(pdf: FPDF, pairs: list[tuple[str, Any]]) -> None:
    _table(pdf, ["Figure", "Value"], [[k, v] for k, v in pairs], (3, 1))


def _correction(pdf: FPDF, report: dict[str, Any]) -> None:
    correction = report.get("correction")
    if not correction:
        return
    _heading(pdf, f"Correction of version {correction['corrects']}")
    pdf.multi_cell(0, 5, latin1(correction["note"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    rows = [[c["figure"], c["was"], c["now"]] for c in correction["changed"]]
    if rows:
        _table(pdf, ["Figure changed", "Was", "Now"], rows, (3, 1, 1))


def _india(pdf: FPDF, report: dict[str, Any]) -> None:
    titles = category_titles()
    complaints = report["complaints"]
    _heading(pdf, "1. Complaints received from users in India, and action taken")
    rows = [[titles.get(key, key), r["received"], r["resolved"], r["action_taken"], r["no_action"], r["not_found"],
             r["pending_at_end"]] for key, r in complaints["by_category"].items()]
    t = complaints["total"]
    rows.append(["Total", t["received"], t["resolved"], t["action_taken"], t["no_action"], t["not_found"],
                 t["pending_at_end"]])
    _table(pdf, ["Category", "Received", "Resolved", "Action taken", "No action", "Not found", "Pending at end"],
           rows, (5, 1, 1, 1, 1, 1, 1))
    proactive = report["proactive"]
    _heading(pdf, "2. Removed or disabled through proactive monitoring with automated tools")
    rows = [[CLASS_TITLES.get(key, key), n] for key, n in proactive["removed_by_classification"].items()]
    rows.append(["Total items removed or disabled", proactive["removed"]])
    rows.extend([[f"Accounts restricted: {kind}", n] for kind, n in proactive["accounts_restricted"].items()])
    _table(pdf, ["Category", "Items"], rows, (4, 1))
    d = report["detection"]
    _heading(pdf, "3. Detection by hash matching")
    _pairs(pdf, [("Uploads scanned", d["scans"]), ("Uploads matching a hash bank", d["scans_with_match"]),
                 ("Matches", d["matches"]),
                 *[(f"Matches in bank {bank}", n) for bank, n in d["matches_by_bank"].items()],
                 *[(f"Matches by {signal}", n) for signal, n in d["matches_by_signal_type"].items()]])
    r = report["review"]
    _heading(pdf, "4. Human review")
    _pairs(pdf, [("Cases opened", r["cases_opened"]), ("Of those, confirmed", r["confirmed"]),
                 ("Of those, dismissed", r["dismissed"])])
    c = report["cybertipline"]
    _heading(pdf, "5. Reports to NCMEC's CyberTipline")
    median = c["median_hours_detection_to_report"]
    _pairs(pdf, [("Reports filed", c["reports_filed"]), ("Files reported", c["files"]),
                 ("Reports retracted", c["retracted"]),
                 ("Median hours from detection to report", "-" if median is None else median)])


def _law_enforcement(pdf: FPDF, report: dict[str, Any]) -> None:
    _heading(pdf, "Requests from government and law enforcement, by country")
    header = ["Country", "Requests", "Accounts specified", "Some data produced", "Emergency", "Preservation",
              "Removal orders", "Clocks met", "Clocks breached"]
    rows = [[country, *_le_cells(row)] for country, row in report["law_enforcement"].items()]
    rows.append(["Total", *_le_cells(report["law_enforcement_total"])])
    _table(pdf, header, rows, (2, 1, 1, 1, 1, 1, 1, 1, 1), size=7.5)
    pdf.set_font("Helvetica", size=8)
    pdf.multi_cell(0, 4.5, "Some data produced: the share of requests answered with a full or partial production. "
                           "Preservation: requests under a preservation instrument (18 U.S.C. 2703(f), EPOC-PR). "
                           "Removal orders: requests under an instrument of removal (e.g. IT Rules 2021 Rule 3(1)(d)). "
                           "Clocks: answers given within, or after, the deadline the instrument sets.",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _heading(pdf, "Requests by instrument")
    _table(pdf, ["Country", "Instrument", "Requests"],
           [[country, key, n] for country, row in report["law_enforcement"].items()
            for key, n in row["by_instrument"].items()], (1, 3, 1))
    _heading(pdf, "Outcomes")
    _table(pdf, ["Country", "Outcome", "Requests"],
           [[country, key.replace("_", " "), n] for country, row in report["law_enforcement"].items()
            for key, n in row["by_outcome"].items()], (1, 3, 1))


def _le_cells(row: dict[str, Any]) -> list[Any]:
    share = f"{row['share_some_data_produced'] * 100:.1f}%"
    return [row["requests"], row["accounts_specified"], share, row["emergency"], row["preservation"],
            row["removal_orders"], row["clocks_met"], row["clocks_breached"]]


def _dsa(pdf: FPDF, report: dict[str, Any]) -> None:
    """The DSA report's figures, by the template section they fill (the CSV is the machine-readable form)."""
    a, oi, sor = report["appeals"], report["own_initiative"], report["statements_of_reasons"]
    _heading(pdf, "1.2 Orders from Member State authorities")
    _table(pdf, ["Member State", "Orders to act (Art. 9)", "Orders to provide information (Art. 10)"],
           [[c, r["orders_to_act"], r["orders_to_provide_information"]]
            for c, r in report["member_state_orders"].items()] or [["-", 0, 0]], (2, 1, 1))
    n = report["notices"]
    _heading(pdf, "1.3 Notices (Art. 16)")
    _pairs(pdf, [("Received", n["received"]), ("Acted upon", n["action_taken"]), ("Not acted upon", n["no_action"])])
    _heading(pdf, "1.4 Own-initiative moderation")
    _pairs(pdf, [("Decisions", oi["decisions"]), *[(f"Measure: {k}", v) for k, v in oi["by_measure"].items()],
                 *[(f"Category: {k}", v) for k, v in oi["by_category"].items()]])
    _heading(pdf, "1.5 Internal complaint handling (Art. 20) and suspensions")
    median = a["median_hours_to_decide"]
    _pairs(pdf, [("Complaints received", a["received"]), ("Decided", a["decided"]), ("Upheld", a["upheld"]),
                 ("Reversed", a["reversed"]), ("Median hours to decide", "-" if median is None else median),
                 ("Pending at the end", a["pending_at_end"]), ("Accounts suspended", oi["accounts_suspended"])])
    _heading(pdf, "1.6 Automated means")
    _pairs(pdf, [("Detected by automated means", oi["detected_by_automated_means"]),
                 ("Decided fully automatically", oi["decided_fully_automatically"])])
    _heading(pdf, "Statements of reasons (Art. 17, Art. 24(5))")
    _pairs(pdf, [("Written", sor["written"]), ("Sent to the recipient", sor["sent"]),
                 *[(f"Withheld: {k.replace('_', ' ')}", v) for k, v in sor["withheld_by_reason"].items()],
                 *[(f"Transparency Database: {k}", v) for k, v in sor["dsa_database"].items()]])
