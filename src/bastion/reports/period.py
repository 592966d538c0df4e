"""Reporting periods: a month (2026-11) or a half-year (2026-H2), as half-open UTC intervals."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bastion.errors import BastionError

KINDS = ("india-monthly", "le-transparency", "dsa-transparency")
PERIOD_FORMS = ("YYYY-MM (a month, e.g. 2026-11)", "YYYY-H1 or YYYY-H2 (a half-year, e.g. 2026-H2)")


class BadReportRequest(BastionError):
    code = "bad_report_request"
    status = 422


@dataclass(frozen=True)
class Period:
    label: str
    since: datetime
    until: datetime

    def provisional(self, now: datetime) -> bool:
        """A period that has not closed yet is provisional."""
        return now < self.until


def parse_period(text: str) -> Period:
    text = (text or "").strip()
    month = re.fullmatch(r"(\d{4})-(\d{2})", text)
    half = re.fullmatch(r"(\d{4})-H([12])", text, re.IGNORECASE)
    if month and 1 <= int(month.group(2)) <= 12:
        year, mon = int(month.group(1)), int(month.group(2))
        since = datetime(year, mon, 1, tzinfo=UTC)
        until = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=UTC)
        return Period(f"{year:04d}-{mon:02d}", since, until)
    if half:
        year, h = int(half.group(1)), int(half.group(2))
        since = datetime(year, 1 if h == 1 else 7, 1, tzinfo=UTC)
        until = datetime(year, 7, 1, tzinfo=UTC) if h == 1 else datetime(year + 1, 1, 1, tzinfo=UTC)
        return Period(f"{year:04d}-H{h}", since, until)
    raise BadReportRequest(f"Malformed period {text!r}; valid forms: {'; '.join(PERIOD_FORMS)}.")


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise BadReportRequest(f"Unknown report kind {kind!r}; valid kinds: {', '.join(KINDS)}.")
    return kind


def check_period_for(kind: str, period: Period) -> Period:
    """India's report is monthly (Rule 4(1)(d)); the law-enforcement report takes a month or a half-year."""
    if kind == "india-monthly" and "-H" in period.label:
        raise BadReportRequest(f"The india-monthly report is built for a month; valid form: {PERIOD_FORMS[0]}.")
    return period
