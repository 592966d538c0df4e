"""Build a report of a kind for a period, as JSON or CSV bytes (deterministic for the same records)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bastion.reports.detection import detection
from bastion.reports.law_enforcement import by_country
from bastion.reports.review import review
from bastion.reports.period import BadReportRequest, check_kind, parse_period

FORMATS = ("csv", "json")


def figures(session: Session, kind: str, period_text: str, now: datetime) -> dict[str, Any]:
    check_kind(kind)
    period = parse_period(period_text)
    report: dict[str, Any] = {"kind": kind, "period": period.label, "provisional": period.provisional(now)}
    if kind == "india-monthly":
        report["detection"] = detection(session, period)
        report["review"] = review(session, period)
    report["law_enforcement"] = by_country(session, period, now)
    return report


def render(report: dict[str, Any], fmt: str) -> bytes:
    if fmt == "json":
        return (json.dumps(report, sort_keys=True, indent=2) + "\n").encode()
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["section", "key", "figure", "value"])
        w.writerow(["report", "", "period", report["period"]])
        w.writerow(["report", "", "status", "PROVISIONAL" if report["provisional"] else "final"])
        for section in ("detection", "review", "law_enforcement"):
            for key, value in _flatten(report.get(section, {})):
                parts = key.split(".", 1)
                w.writerow([section, parts[0] if len(parts) > 1 else "", parts[-1], value])
        return buf.getvalue().encode()
    raise BadReportRequest(f"Unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}.")


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
