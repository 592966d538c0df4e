"""The DSA transparency report (Arts. 15 and 24) in the harmonised template of Implementing Regulation (EU) 2024/2835.

Bastion fills the template's quantitative sections for which it holds records, and only those; the
CSV names each template section and field next to the Bastion figure behind it, so a reader can see
what was counted and how (docs/dsa.md has the full mapping and what is left for the platform to add):

- 1.1 report identification: the period;
- 1.2 Member State orders (Art. 15(1)(a)): legal requests from EU Member States, removal orders
  (Art. 9) apart from orders to provide information (Art. 10), with the outcome and whether the
  answer met its clock;
- 1.3 notices (Art. 15(1)(b)): complaints from EU users on the grievance desk, by category and
  action taken;
- 1.4 own-initiative moderation (Art. 15(1)(c)): the EU statements of reasons, by measure, category
  and keyword;
- 1.5 internal complaint handling and suspensions (Arts. 15(1)(d), 24(1)): EU appeals (received,
  decided, reversed, median time) and accounts suspended;
- 1.6 automated means (Art. 15(1)(e)): detected by automated means, decided fully automatically.

Sections 1.7 (human resources) and 1.8 (average monthly recipients) and the qualitative template are
not Bastion's to know; the CSV lists them as "not held" rather than leaving them out silently.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.dsa.models import DsaStatement
from bastion.dsa.schema import EU_COUNTRIES
from bastion.notices.models import NoticeRecord
from bastion.reports.appeals import appeals
from bastion.reports.complaints import complaints
from bastion.reports.law_enforcement import by_country
from bastion.reports.period import Period
from bastion.reports.statements import statements_of_reasons

MEASURES = ("decision_visibility", "decision_account", "decision_provision", "decision_monetary")


def own_initiative(session: Session, period: Period) -> dict[str, Any]:
    """The EU statements written in the period (any filing state), counted by what they say."""
    payloads = session.scalars(select(DsaStatement.payload)
                               .join(NoticeRecord, NoticeRecord.id == DsaStatement.notice_id)
                               .where(NoticeRecord.created_at >= period.since, NoticeRecord.created_at < period.until))
    measures: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    keywords: Counter[str] = Counter()
    detected = decided_fully = total = 0
    for payload in payloads:
        total += 1
        for field in MEASURES:
            value = payload.get(field)
            for v in value if isinstance(value, list) else ([value] if value else []):
                measures[str(v)] += 1
        categories[str(payload.get("category", ""))] += 1
        keywords.update(str(k) for k in payload.get("category_specification") or [])
        detected += payload.get("automated_detection") == "Yes"
        decided_fully += payload.get("automated_decision") == "AUTOMATED_DECISION_FULLY"
    return {"decisions": total, "by_measure": dict(sorted(measures.items())),
            "by_category": dict(sorted(categories.items())), "by_keyword": dict(sorted(keywords.items())),
            "detected_by_automated_means": detected, "decided_fully_automatically": decided_fully,
            "accounts_suspended": measures["DECISION_ACCOUNT_SUSPENDED"]}


def member_state_orders(session: Session, period: Period, now: datetime) -> dict[str, dict[str, int]]:
    """Legal requests from EU Member States: removal orders (Art. 9) and orders to provide information (Art. 10)."""
    out: dict[str, dict[str, int]] = {}
    for country, row in by_country(session, period, now).items():
        if country not in EU_COUNTRIES:
            continue
        out[country] = {"orders_to_act": row["removal_orders"],
                        "orders_to_provide_information": row["requests"] - row["removal_orders"] - row["preservation"],
                        "some_data_produced": row["some_data_produced"], "clocks_met": row["clocks_met"],
                        "clocks_breached": row["clocks_breached"]}
    return out


def dsa_sections(session: Session, period: Period, now: datetime) -> dict[str, Any]:
    eu_complaints = complaints(session, period, jurisdiction="EU")
    return {"member_state_orders": member_state_orders(session, period, now),
            "notices": eu_complaints["total"],
            "notices_by_category": eu_complaints["by_category"],
            "own_initiative": own_initiative(session, period),
            "appeals": appeals(session, period, jurisdiction="EU"),
            "statements_of_reasons": statements_of_reasons(session, period)}


#: (template section, template field, where the figure sits in the report).
TEMPLATE = (
    ("1.3", "Number of notices submitted (Art. 16)", "notices.received"),
    ("1.3", "Number of notices acted upon", "notices.action_taken"),
    ("1.3", "Number of notices not acted upon", "notices.no_action"),
    ("1.4", "Number of own-initiative content moderation decisions", "own_initiative.decisions"),
    ("1.4", "Decisions detected by automated means", "own_initiative.detected_by_automated_means"),
    ("1.5", "Number of complaints received through the internal complaint-handling system (Art. 20)",
     "appeals.received"),
    ("1.5", "Number of complaints decided", "appeals.decided"),
    ("1.5", "Number of decisions upheld", "appeals.upheld"),
    ("1.5", "Number of decisions reversed", "appeals.reversed"),
    ("1.5", "Median time to decide a complaint (hours)", "appeals.median_hours_to_decide"),
    ("1.5", "Complaints pending at the end of the period", "appeals.pending_at_end"),
    ("1.5", "Number of account suspensions", "own_initiative.accounts_suspended"),
    ("1.6", "Decisions taken fully by automated means", "own_initiative.decided_fully_automatically"),
    ("Art. 24(5)", "Statements of reasons written", "statements_of_reasons.written"),
    ("Art. 24(5)", "Statements of reasons withheld from the recipient", "statements_of_reasons.withheld"),
)
NOT_HELD = (("1.2", "Median time to inform the authority of the order's effect"),
            ("1.3", "Median time to take a decision on a notice"),
            ("1.5", "Out-of-court dispute settlement (Art. 21) submissions and outcomes"),
            ("1.7", "Human resources dedicated to content moderation"),
            ("1.8", "Average monthly active recipients of the service"))


def _get(report: dict[str, Any], dotted: str) -> Any:
    value: Any = report
    for part in dotted.split("."):
        value = value[part]
    return value


def template_csv(report: dict[str, Any]) -> bytes:
    """One row per template field Bastion fills, with the breakdowns, then the fields it does not hold."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["template_section", "template_field", "breakdown", "value", "bastion_source"])
    status = "provisional" if report["provisional"] else "final"
    w.writerow(["1.1", "Reporting period start", "", report["since"], "period"])
    w.writerow(["1.1", "Reporting period end (exclusive)", "", report["until"], "period"])
    w.writerow(["1.1", "Report status", "", status, "period"])
    correction = report.get("correction")
    if correction:
        w.writerow(["1.1", f"Correction of version {correction['corrects']}", "", correction["note"], "versions"])
    for country, row in report["member_state_orders"].items():
        w.writerow(["1.2.1", "Member State orders to act against illegal content (Art. 9)", country,
                    row["orders_to_act"], "legal requests, instrument kind removal"])
        w.writerow(["1.2.2", "Member State orders to provide information (Art. 10)", country,
                    row["orders_to_provide_information"], "legal requests, other instruments"])
    for section, field, source in TEMPLATE:
        value = _get(report, source)
        w.writerow([section, field, "", "" if value is None else value, source])
    for category, row in report["notices_by_category"].items():
        w.writerow(["1.3", "Number of notices submitted (Art. 16)", f"category={category}", row["received"],
                    "notices_by_category"])
    oi = report["own_initiative"]
    for group, label in (("by_measure", "measure"), ("by_category", "category"), ("by_keyword", "keyword")):
        for key, n in oi[group].items():
            w.writerow(["1.4", "Number of own-initiative content moderation decisions", f"{label}={key}", n,
                        f"own_initiative.{group}"])
    for reason, n in report["statements_of_reasons"]["withheld_by_reason"].items():
        w.writerow(["Art. 24(5)", "Statements of reasons withheld from the recipient", f"reason={reason}", n,
                    "statements_of_reasons.withheld_by_reason"])
    for state, n in report["statements_of_reasons"]["dsa_database"].items():
        w.writerow(["Art. 24(5)", "Statements of reasons in the Transparency Database", f"state={state}", n,
                    "statements_of_reasons.dsa_database"])
    for section, field in NOT_HELD:
        w.writerow([section, field, "", "not held by Bastion", ""])
    return buf.getvalue().encode()
