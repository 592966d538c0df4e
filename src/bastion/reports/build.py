"""Build a report of a kind for a period, as JSON, CSV or PDF bytes (deterministic for the same records).

`figures` computes the report from the records; `render` turns a figures dict into bytes and
depends on nothing else, so a frozen report (its figures stored when it was drafted) renders to
the same bytes however the records change later.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bastion.reports.complaints import complaints
from bastion.reports.cybertipline import cybertipline
from bastion.reports.detection import detection, matches_per_day
from bastion.reports.law_enforcement import COUNTS, by_country, totals
from bastion.reports.period import BadReportRequest, check_kind, check_period_for, parse_period
from bastion.reports.proactive import proactive
from bastion.reports.review import review

FORMATS = ("csv", "json", "pdf")
TITLES = {"india-monthly": "Monthly compliance report (IT Rules 2021, Rule 4(1)(d))",
          "le-transparency": "Law-enforcement requests: transparency report",
          "dsa-transparency": "DSA transparency report (Implementing Regulation (EU) 2024/2835 template)"}
#: The India report's sections, in the order they are printed.
INDIA_SECTIONS = ("complaints", "proactive", "detection", "review", "cybertipline")
LE_COLUMNS = ("requests", "accounts_specified", "share_some_data_produced", "some_data_produced", "emergency",
              "preservation", "removal_orders", "clocks_met", "clocks_breached")


def figures(session: Session, kind: str, period_text: str, now: datetime) -> dict[str, Any]:
    check_kind(kind)
    period = check_period_for(kind, parse_period(period_text))
    report: dict[str, Any] = {"kind": kind, "title": TITLES[kind], "period": period.label,
                              "since": period.since.date().isoformat(), "until": period.until.date().isoformat(),
                              "provisional": period.provisional(now)}
    if kind == "india-monthly":
        report["complaints"] = complaints(session, period)
        report["proactive"] = proactive(session, period)
        report["detection"] = detection(session, period)
        report["review"] = review(session, period)
        report["cybertipline"] = cybertipline(session, period)
        report["series"] = {"matches_per_day_by_bank": matches_per_day(session, period)}
    elif kind == "dsa-transparency":
        from bastion.reports.dsa_report import dsa_sections

        report.update(dsa_sections(session, period, now))
    else:
        countries = by_country(session, period, now)
        report["law_enforcement"] = countries
        report["law_enforcement_total"] = totals(countries)
    return report


def render(report: dict[str, Any], fmt: str) -> bytes:
    if fmt == "json":
        return (json.dumps(report, sort_keys=True, indent=2) + "\n").encode()
    if fmt == "csv":
        if report["kind"] == "dsa-transparency":
            from bastion.reports.dsa_report import template_csv

            return template_csv(report)
        return _le_csv(report) if report["kind"] == "le-transparency" else _sections_csv(report)
    if fmt == "pdf":
        from bastion.reports.pdf import report_pdf

        return report_pdf(report)
    raise BadReportRequest(f"Unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}.")


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise BadReportRequest(f"Unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}.")
    return fmt


def status_text(report: dict[str, Any]) -> str:
    return "PROVISIONAL" if report["provisional"] else "final"


def _sections_csv(report: dict[str, Any]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "key", "figure", "value"])
    w.writerow(["report", "", "period", report["period"]])
    w.writerow(["report", "", "status", status_text(report)])
    _correction_rows(w, report)
    for section in INDIA_SECTIONS:
        for key, value in _flatten(report.get(section, {})):
            parts = key.split(".", 1)
            w.writerow([section, parts[0] if len(parts) > 1 else "", parts[-1], "" if value is None else value])
    return buf.getvalue().encode()


def _le_csv(report: dict[str, Any]) -> bytes:
    """One row per country, the way platforms publish theirs; every row carries the period and its status."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["period", "status", "country", *LE_COLUMNS])
    rows = [*report["law_enforcement"].items(), ("TOTAL", report["law_enforcement_total"])]
    for country, row in rows:
        w.writerow([report["period"], status_text(report), country, *(row[c] for c in LE_COLUMNS)])
    correction = report.get("correction")
    if correction:
        w.writerow([report["period"], status_text(report), f"CORRECTION of version {correction['corrects']}: "
                    f"{correction['note']}", *([""] * len(LE_COLUMNS))])
    return buf.getvalue().encode()


def _correction_rows(w: Any, report: dict[str, Any]) -> None:
    correction = report.get("correction")
    if not correction:
        return
    w.writerow(["correction", "", "corrects_version", correction["corrects"]])
    w.writerow(["correction", "", "note", correction["note"]])
    for change in correction["changed"]:
        w.writerow(["correction", "changed", change["figure"], f"{change['was']} -> {change['now']}"])


def _flatten(data: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key in sorted(data):
        value = data[key]
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(_flatten(value, f"{name}."))
        else:
            out.append((name, value))
    return out


def flatten(report: dict[str, Any]) -> dict[str, Any]:
    """Every figure of a report by dotted name (what a correction compares)."""
    skip = {"kind", "title", "period", "since", "until", "provisional", "correction", "series", "version", "as_of"}
    return dict(_flatten({k: v for k, v in report.items() if k not in skip}))


__all__ = ["COUNTS", "FORMATS", "check_format", "figures", "flatten", "render", "status_text"]
