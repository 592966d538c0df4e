"""The landing pages' charts: exact figures over rolling windows from the known history, each chart
behind its own permission, and each role's landing page showing the charts of its own work."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bastion.auth.roles import Role
from bastion.cases.models import Case, CaseEvent
from bastion.clock import ManualClock
from bastion.reports import charts, trends
from tests.conftest import api_login
from tests.reports.history import NOW, at, seed

#: When each seeded case got its first decision (the history seeds none; sep and oct have none, so
#: they count as decided at their last update, before the window).
DECISIONS = {"nov1": (at(11, 3, 10), "confirmed"), "nov2": (at(11, 11, 12), "confirmed"),
             "nov3": (at(11, 12, 0, 30), "dismissed")}


def _seeded(sessions: sessionmaker[Session], clock: ManualClock, submit, user_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    seed(sessions, clock, submit, user_factory(Role.LEGAL).id)
    with sessions() as session:
        for name, (moment, to) in DECISIONS.items():
            case = session.scalars(select(Case).where(Case.account_id == f"acct-secret-{name}")).one()
            session.add(CaseEvent(case_id=case.id, at=moment, actor="reviewer", kind="decision",
                                  from_status="in_review", to_status=to, details="{}"))
        session.commit()


def test_trend_figures_from_a_known_history(sessions: sessionmaker[Session], clock: ManualClock, submit,  # type: ignore[no-untyped-def]  # noqa: E501
                                            user_factory) -> None:
    _seeded(sessions, clock, submit, user_factory)
    with sessions() as session:
        matches = trends.matches_per_day(session, NOW)
        queue = trends.review_queue(session, NOW)
        decisions = trends.time_to_decision(session, NOW)
        tips = trends.cybertipline_per_week(session, NOW)
        clocks = trends.legal_clocks_per_week(session, NOW)
        countries = trends.requests_per_country(session, NOW)

    assert matches.categories[0] == "04 Nov" and matches.categories[-1] == "03 Dec" and len(matches.categories) == 30
    nonzero = {bank: {matches.categories[i]: n for i, n in enumerate(v) if n} for bank, v in matches.series.items()}
    assert nonzero == {"bank-a": {"15 Nov": 1, "01 Dec": 1}, "bank-b": {"15 Nov": 1}}  # 1 and 12 Nov fall outside

    waiting = dict(zip(queue.categories, queue.series["cases waiting"], strict=True))
    oldest = dict(zip(queue.categories, queue.lines["oldest case (hours)"], strict=True))
    assert {day for day, n in waiting.items() if n} == {"10 Nov"} | {
        (at(11, 20) + timedelta(days=d)).strftime("%d %b") for d in range(14)}  # nov2 one day; nov4 since 20 Nov
    assert set(waiting.values()) == {0, 1}
    assert oldest["10 Nov"] == 24.0 and oldest["11 Nov"] == 0.0  # nov2 decided at noon on the 11th
    assert oldest["12 Nov"] == 0.0  # nov3 decided half an hour after it opened
    assert oldest["02 Dec"] == 13 * 24.0 and oldest["03 Dec"] == 13 * 24.0 + 9  # today ends now, at 09:00

    assert dict(zip(decisions.categories, decisions.series["cases"], strict=True)) == {
        "< 1 h": 1, "1–4 h": 0, "4–24 h": 0, "1–3 days": 2, "3–7 days": 0, "> 7 days": 0}

    assert tips.categories[0] == "14 Sep" and tips.categories[-1] == "30 Nov"  # ISO weeks, this one last
    assert tips.series["reports"] == [0, 0, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0]  # 25 Oct, 4 Nov, 11 Nov

    # met: the subpoena (answered 12 Oct), the preservation (8 Nov), the emergency (20 Nov); breached: the
    # notice answered late (20 Oct) and the removal order never answered (due 5 Nov)
    assert clocks.series == {"met": [0, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0],
                             "breached": [0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0]}
    assert dict(zip(countries.categories, countries.series["requests"], strict=True)) == {"EU": 1, "IN": 4, "US": 3}


def test_the_queue_chart_draws_bars_and_a_line_on_a_second_axis() -> None:
    chart = charts.Chart("q", "Queue", ["01", "02"], {"cases waiting": [2, 1]}, stacked=False,
                         lines={"oldest case (hours)": [30.0, 5.5]}, y2label="hours")
    svg = charts.svg(chart)
    assert sorted(re.findall(r'id="(bar-[^"]+)"', svg)) == ["bar-cases_waiting-0", "bar-cases_waiting-1"]
    assert 'id="line-oldest_case__hours_"' in svg and ">hours<" in svg and "oldest case (hours)" in svg


def _login(app, user_factory, clock: ManualClock, role: Role) -> TestClient:  # type: ignore[no-untyped-def]
    http = TestClient(app)
    api_login(http, user_factory(role), clock)
    return http


def test_each_role_lands_on_its_own_charts_and_no_other(app, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    clock.set(NOW)
    shown = {}
    for role in (Role.REVIEWER, Role.LEAD, Role.LEGAL, Role.COMPLIANCE, Role.ADMIN, Role.AUDITOR):
        http = _login(app, user_factory, clock, role)
        page = http.get("/").text
        shown[role] = re.findall(r'<img src="/charts/([a-z-]+)\.svg"', page)
        for key in shown[role]:
            svg = http.get(f"/charts/{key}.svg")
            assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml"), (role, key)
            assert "private" in svg.headers["cache-control"]
    assert shown[Role.REVIEWER] == ["review-queue", "time-to-decision"]
    assert shown[Role.LEGAL] == ["legal-clocks-per-week", "requests-per-country"]
    assert shown[Role.COMPLIANCE] == ["matches-per-day", "cybertipline-per-week", "legal-clocks-per-week",
                                      "requests-per-country"]
    assert shown[Role.AUDITOR] == []
    # the address alone does not give the data: each chart holds its records' permission
    legal = _login(app, user_factory, clock, Role.LEGAL)
    reviewer = _login(app, user_factory, clock, Role.REVIEWER)
    auditor = _login(app, user_factory, clock, Role.AUDITOR)
    assert auditor.get("/charts/review-queue.svg").status_code == 403
    assert auditor.get("/charts/cybertipline-per-week.svg").status_code == 403
    assert legal.get("/charts/matches-per-day.svg").status_code == 403
    assert reviewer.get("/charts/legal-clocks-per-week.svg").status_code == 403
    assert reviewer.get("/charts/requests-per-country.svg").status_code == 403
