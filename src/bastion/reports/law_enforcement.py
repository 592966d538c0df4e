"""Law-enforcement request figures per country, from legal.transparency's per-request records.

Counted the way the major platforms' semi-annual reports count them: requests received, accounts
specified, the share where some data was produced, emergency requests, preservation requests (under
an instrument whose kind is preservation: 2703(f), EPOC-PR) and removal orders (instruments of kind
removal), plus how many answers met their legal clock.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.legal.models import Instrument
from bastion.legal.transparency import records
from bastion.reports.period import Period

PRODUCED = ("produced_in_full", "produced_in_part")
COUNTS = ("requests", "accounts_specified", "some_data_produced", "emergency", "preservation", "removal_orders",
          "clocks_met", "clocks_breached")


def _row() -> dict[str, Any]:
    row: dict[str, Any] = {key: 0 for key in COUNTS}
    row["by_instrument"] = defaultdict(int)
    row["by_outcome"] = defaultdict(int)
    return row


def by_country(session: Session, period: Period, now: datetime) -> dict[str, dict[str, Any]]:
    kinds = dict(session.execute(select(Instrument.key, Instrument.kind)).all())
    rows: dict[str, dict[str, Any]] = defaultdict(_row)
    for rec in records(session, since=period.since, until=period.until, now=now):
        row = rows[rec.jurisdiction]
        kind = kinds.get(rec.instrument, "")
        row["requests"] += 1
        row["accounts_specified"] += rec.accounts_named
        row["some_data_produced"] += rec.outcome in PRODUCED
        row["emergency"] += rec.emergency or kind == "emergency"
        row["preservation"] += kind == "preservation"
        row["removal_orders"] += kind == "removal"
        row["clocks_met"] += rec.clock_met is True
        row["clocks_breached"] += rec.clock_met is False
        row["by_instrument"][rec.instrument] += 1
        row["by_outcome"][rec.outcome] += 1
    out = {}
    for country in sorted(rows):
        row = rows[country]
        row["by_instrument"] = dict(sorted(row["by_instrument"].items()))
        row["by_outcome"] = dict(sorted(row["by_outcome"].items()))
        row["share_some_data_produced"] = _share(row["some_data_produced"], row["requests"])
        out[country] = row
    return out


def totals(countries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The sum over every country, with the overall share where some data was produced."""
    total: dict[str, Any] = {key: sum(row[key] for row in countries.values()) for key in COUNTS}
    total["countries"] = len(countries)
    total["share_some_data_produced"] = _share(total["some_data_produced"], total["requests"])
    return total


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
