"""Three months of known history, and the exact figure in every section of every report and format."""

from __future__ import annotations

import csv
import io
import json

import pypdf
import pytest
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.reports import charts, rollup
from bastion.reports.build import figures, render
from tests.reports.history import NOW, seed

SECRETS = (b"secret", b"SECRET", b"Patil", b"Jones", b"LR-2026")


def _pdf_pages(body: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(body)).pages]


def _private(body: bytes) -> None:
    for secret in SECRETS:
        assert secret not in body, secret


def _seeded(sessions: sessionmaker[Session], clock: ManualClock, submit, user_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    seed(sessions, clock, submit, user_factory(Role.LEGAL).id)


@pytest.mark.parametrize("rolled", [False, True], ids=["from-records", "from-daily-totals"])
def test_india_monthly_from_a_known_history(sessions: sessionmaker[Session], clock: ManualClock, submit,  # type: ignore[no-untyped-def]  # noqa: E501
                                            user_factory, rolled: bool) -> None:
    """The same figures whether the detection section reads the scans or the daily totals rolled from them."""
    _seeded(sessions, clock, submit, user_factory)
    if rolled:
        with sessions() as session:
            assert rollup.roll(session, ManualClock(NOW)) > 60  # every day from the first scan to yesterday
    with sessions() as session:
        nov = figures(session, "india-monthly", "2026-11", NOW)
        oct_ = figures(session, "india-monthly", "2026-10", NOW)
    assert nov["provisional"] is False
    zero = {"received": 0, "resolved": 0, "action_taken": 0, "removed": 0, "restricted": 0, "no_action": 0,
            "not_found": 0, "pending_at_end": 0}
    assert nov["complaints"] == {
        "by_category": {
            "csam": {**zero, "received": 2, "resolved": 2, "action_taken": 1, "removed": 1, "no_action": 1},
            "illegal": zero, "impersonation": zero,
            "ncii": {**zero, "received": 2, "resolved": 1, "action_taken": 1, "restricted": 1, "pending_at_end": 1},
            "tos": {**zero, "received": 1, "resolved": 1, "not_found": 1, "pending_at_end": 1}},
        "total": {"received": 5, "resolved": 4, "action_taken": 2, "removed": 1, "restricted": 1, "no_action": 1,
                  "not_found": 1, "pending_at_end": 2}}
    assert nov["proactive"] == {"removed_by_classification": {"A1": 1, "A2": 1, "B1": 1, "B2": 1, "unclassified": 0},
                                "removed": 4, "accounts_restricted": {"limit": 1, "suspend": 1}}
    assert nov["detection"] == {"scans": 4, "scans_with_match": 3, "matches": 4,
                                "matches_by_bank": {"bank-a": 2, "bank-b": 2},
                                "matches_by_signal_type": {"md5": 1, "pdq": 3}}
    assert nov["review"] == {"cases_opened": 4, "confirmed": 2, "dismissed": 1,
                             "by_status": {"confirmed": 2, "dismissed": 1, "new": 1}}
    assert nov["cybertipline"] == {"reports_filed": 2, "files": 3, "retracted": 1,
                                   "median_hours_detection_to_report": 42.0}
    per_day = nov["series"]["matches_per_day_by_bank"]
    assert len(per_day) == 30 and per_day["2026-11-01"] == {"bank-a": 1, "bank-b": 1}
    assert per_day["2026-11-15"] == {"bank-a": 1, "bank-b": 1} and per_day["2026-11-30"] == {}
    # October: the last second of the month is October's; the delivery on 1 November is not
    assert oct_["detection"]["matches_by_bank"] == {"bank-a": 2, "bank-b": 1}
    assert oct_["proactive"]["removed"] == 0 and oct_["cybertipline"]["reports_filed"] == 1
    assert oct_["complaints"]["total"]["received"] == 1 and oct_["complaints"]["total"]["pending_at_end"] == 1

    rows = list(csv.reader(io.StringIO(render(nov, "csv").decode())))
    assert ["report", "", "status", "final"] in rows
    for row in (["complaints", "by_category", "csam.received", "2"], ["complaints", "total", "pending_at_end", "2"],
                ["proactive", "removed_by_classification", "B2", "1"], ["proactive", "", "removed", "4"],
                ["proactive", "accounts_restricted", "suspend", "1"], ["detection", "", "scans", "4"],
                ["review", "", "cases_opened", "4"], ["cybertipline", "", "median_hours_detection_to_report", "42.0"]):
        assert row in rows, row
    text = "\n".join(_pdf_pages(render(nov, "pdf")))
    assert "Child sexual abuse material 2 2 1 1 0 0" in text
    assert "Intimate imagery of me, shared without my consent 2 1 1 0 0 1" in text
    assert "Total 5 4 2 1 1 2" in text
    assert "A1: prepubescent child, sex act 1" in text and "Total items removed or disabled 4" in text
    assert "Accounts restricted: suspend 1" in text and "Median hours from detection to report 42.0" in text
    assert "Uploads scanned 4" in text and "Cases opened 4" in text and "PROVISIONAL" not in text
    for fmt in ("csv", "json", "pdf"):
        _private(render(nov, fmt))
    assert charts.matches_per_day(nov).bars() == 60
    assert charts.svg(charts.matches_per_day(nov)).count('id="bar-') == 60
    assert "Matches per day, by bank, 2026-11" in charts.svg(charts.matches_per_day(nov))
    assert "PROVISIONAL" not in charts.svg(charts.matches_per_day(nov))


def test_law_enforcement_report_from_a_known_history(sessions: sessionmaker[Session], clock: ManualClock, submit,  # type: ignore[no-untyped-def]  # noqa: E501
                                                     user_factory) -> None:
    _seeded(sessions, clock, submit, user_factory)
    with sessions() as session:
        h2 = figures(session, "le-transparency", "2026-H2", NOW)
    assert h2["provisional"] is True  # the half-year closes on 1 January
    le = h2["law_enforcement"]
    assert list(le) == ["EU", "IN", "US"]
    counts = ("requests", "accounts_specified", "some_data_produced", "emergency", "preservation", "removal_orders",
              "clocks_met", "clocks_breached", "share_some_data_produced")
    assert {c: le["IN"][c] for c in counts} == dict(zip(counts, (3, 4, 2, 0, 0, 1, 1, 2, 0.6667), strict=True))
    assert {c: le["US"][c] for c in counts} == dict(zip(counts, (3, 3, 1, 1, 1, 0, 3, 0, 0.3333), strict=True))
    assert {c: le["EU"][c] for c in counts} == dict(zip(counts, (1, 2, 0, 0, 1, 0, 0, 0, 0.0), strict=True))
    assert le["IN"]["by_instrument"] == {"in_bnss_94": 2, "in_itr_3_1_d": 1}
    assert le["IN"]["by_outcome"] == {"open": 1, "produced_in_full": 1, "produced_in_part": 1}
    assert le["US"]["by_outcome"] == {"preserved": 1, "produced_in_full": 1, "refused": 1}
    assert h2["law_enforcement_total"] == {"requests": 7, "accounts_specified": 9, "some_data_produced": 3,
                                           "emergency": 1, "preservation": 2, "removal_orders": 1, "clocks_met": 4,
                                           "clocks_breached": 2, "countries": 3, "share_some_data_produced": 0.4286}

    rows = list(csv.reader(io.StringIO(render(h2, "csv").decode())))
    assert rows[0][:4] == ["period", "status", "country", "requests"]
    assert rows[1:] == [
        ["2026-H2", "PROVISIONAL", "EU", "1", "2", "0.0", "0", "0", "1", "0", "0", "0"],
        ["2026-H2", "PROVISIONAL", "IN", "3", "4", "0.6667", "2", "0", "0", "1", "1", "2"],
        ["2026-H2", "PROVISIONAL", "US", "3", "3", "0.3333", "1", "1", "1", "0", "3", "0"],
        ["2026-H2", "PROVISIONAL", "TOTAL", "7", "9", "0.4286", "3", "1", "2", "1", "4", "2"]]
    assert json.loads(render(h2, "json"))["law_enforcement"]["US"]["emergency"] == 1
    pages = _pdf_pages(render(h2, "pdf"))
    assert len(pages) >= 2
    for page in pages:
        assert "PROVISIONAL: the period 2026-H2 has not closed yet" in page
    text = "\n".join(pages)
    assert "IN 3 4 66.7% 0 0 1 1 2" in text and "US 3 3 33.3% 1 1 0 3 0" in text
    assert "Total 7 9 42.9% 1 2 1 4 2" in text
    for fmt in ("csv", "json", "pdf"):
        _private(render(h2, fmt))
    requests = charts.requests_per_country(h2)
    assert (requests.categories, requests.series) == (["EU", "IN", "US"], {"requests": [1, 3, 3]})
    clocks = charts.clocks(h2)
    assert clocks.series == {"met": [0, 1, 3], "breached": [0, 2, 0]}
    assert charts.svg(clocks).count('id="bar-') == 6 and charts.svg(requests).count('id="bar-') == 3
    assert "2026-H2 (PROVISIONAL: period not closed)" in charts.svg(clocks)
    # the half-year before is empty
    with sessions() as session:
        h1 = figures(session, "le-transparency", "2026-H1", NOW)
    assert h1["law_enforcement"]["IN"]["requests"] == 1 and list(h1["law_enforcement"]) == ["IN"]
