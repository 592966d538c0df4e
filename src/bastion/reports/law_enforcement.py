"""Law-enforcement request figures per country, from legal.transparency's per-request records."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bastion.legal.transparency import records
from bastion.reports.period import Period

PRODUCED = ("produced_in_full", "produced_in_part")


def by_country(session: Session, period: Period, now: datetime) -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = defaultdict(lambda: {
        "requests": 0, "accounts_specified": 0, "some_data_produced": 0, "emergency": 0,
        "preservation": 0, "removal_orders": 0, "clocks_met": 0, "clocks_breached": 0,
        "by_instrument": defaultdict(int), "by_outcome": defaultdict(int)})
    for rec in records(session, since=period.since, until=period.until, now=now):
        row = rows[rec.jurisdiction]
        row["requests"] += 1
        row["accounts_specified"] += rec.accounts_named
        row["some_data_produced"] += rec.outcome in PRODUCED
        row["emergency"] += rec.emergency
        row["preservation"] += rec.outcome == "preserved"
        row["removal_orders"] += rec.outcome == "removed"
        row["clocks_met"] += rec.clock_met is True
        row["clocks_breached"] += rec.clock_met is False
        row["by_instrument"][rec.instrument] += 1
        row["by_outcome"][rec.outcome] += 1
    out = {}
    for country in sorted(rows):
        row = rows[country]
        row["by_instrument"] = dict(sorted(row["by_instrument"].items()))
        row["by_outcome"] = dict(sorted(row["by_outcome"].items()))
        row["share_some_data_produced"] = round(row["some_data_produced"] / row["requests"], 4)
        out[country] = row
    return out
