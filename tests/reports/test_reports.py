"""Reports: periods, exact detection figures, law-enforcement figures per country, privacy, CLI errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from bastion.cli.main import app
from bastion.reports.build import figures, render
from bastion.reports.period import BadReportRequest, parse_period
from bastion.scanning.models import Scan, ScanMatch


def test_periods() -> None:
    nov = parse_period("2026-11")
    assert (nov.since, nov.until) == (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    dec = parse_period("2026-12")
    assert dec.until == datetime(2027, 1, 1, tzinfo=UTC)
    h2 = parse_period("2026-H2")
    assert (h2.since, h2.until) == (datetime(2026, 7, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert nov.provisional(datetime(2026, 11, 30, tzinfo=UTC)) and not nov.provisional(datetime(2026, 12, 1, tzinfo=UTC))
    for bad in ("2026-13", "2026-H3", "Nov 2026", ""):
        with pytest.raises(BadReportRequest, match="YYYY-MM"):
            parse_period(bad)


def _scan(session: Session, at: datetime, n: int, banks: list[tuple[str, str]]) -> None:
    scan = Scan(created_at=at, source="upload", md5=f"{n:032x}", sha1=f"{n:040x}", sha256=f"{n:064x}",
                content_id=f"content-secret-{n}", account_id=f"acct-secret-{n}", match_count=len(banks))
    session.add(scan)
    session.flush()
    for i, (bank, signal) in enumerate(banks):
        session.add(ScanMatch(scan_id=scan.id, bank_id=i + 1, bank_name=bank, entry_id=n * 10 + i, signal_id=n * 10 + i,
                              signal_type=signal, distance=0, found_at=at))


def test_detection_figures_and_privacy(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        _scan(session, datetime(2026, 10, 31, 23, 59, tzinfo=UTC), 1, [("bank-a", "md5")])  # October
        _scan(session, datetime(2026, 11, 1, tzinfo=UTC), 2, [("bank-a", "pdq"), ("bank-b", "md5")])
        _scan(session, datetime(2026, 11, 15, tzinfo=UTC), 3, [("bank-b", "pdq")])
        _scan(session, datetime(2026, 11, 20, tzinfo=UTC), 4, [])
        _scan(session, datetime(2026, 12, 1, tzinfo=UTC), 5, [("bank-a", "pdq")])  # December
        session.commit()
        report = figures(session, "india-monthly", "2026-11", datetime(2026, 12, 3, tzinfo=UTC))
    assert report["provisional"] is False
    assert report["detection"] == {"scans": 3, "scans_with_match": 2, "matches": 3,
                                   "matches_by_bank": {"bank-a": 1, "bank-b": 2},
                                   "matches_by_signal_type": {"md5": 1, "pdq": 2}}
    for fmt in ("csv", "json"):
        body = render(report, fmt)
        assert body == render(report, fmt)
        assert b"secret" not in body
    assert b"detection,matches_by_bank,bank-b,2" in render(report, "csv")
    assert json.loads(render(report, "json"))["detection"]["scans"] == 3


def test_provisional_when_open(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        report = figures(session, "le-transparency", "2026-H2", datetime(2026, 12, 3, tzinfo=UTC))
    assert report["provisional"] is True
    assert b"PROVISIONAL" in render(report, "csv")


def test_cli_errors_list_valid_choices() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["reports", "build", "--kind", "weekly", "--period", "2026-11"])
    assert result.exit_code == 1
    assert "india-monthly" in result.output and "le-transparency" in result.output
    result = runner.invoke(app, ["reports", "build", "--kind", "india-monthly", "--period", "2026-11-01"])
    assert result.exit_code == 1
    assert "YYYY-MM" in result.output and "YYYY-H1" in result.output


def test_cli_unknown_format() -> None:
    result = CliRunner().invoke(app, ["reports", "build", "--kind", "india-monthly", "--period", "2026-11",
                                      "--format", "xls"])
    assert result.exit_code == 1
    assert "csv" in result.output and "json" in result.output


def test_review_figures(sessions: sessionmaker[Session]) -> None:
    from bastion.cases.models import Case

    with sessions() as session:
        for day, status in ((1, "confirmed"), (2, "confirmed"), (3, "dismissed"), (4, "new")):
            at = datetime(2026, 11, day, tzinfo=UTC)
            session.add(Case(account_id=f"acct-secret-{day}", status=status, opened_at=at, updated_at=at))
        at = datetime(2026, 10, 5, tzinfo=UTC)
        session.add(Case(account_id="acct-secret-oct", status="confirmed", opened_at=at, updated_at=at))
        session.commit()
        report = figures(session, "india-monthly", "2026-11", datetime(2026, 12, 3, tzinfo=UTC))
    assert report["review"] == {"cases_opened": 4, "confirmed": 2, "dismissed": 1,
                                "by_status": {"confirmed": 2, "dismissed": 1, "new": 1}}
    assert b"review,,cases_opened,4" in render(report, "csv")
    assert b"secret" not in render(report, "csv") + render(report, "json")


def test_cli_builds_a_report_from_the_database(sessions: sessionmaker[Session], engine, tmp_path,  # type: ignore[no-untyped-def]
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from bastion.config import get_settings

    with sessions() as session:
        _scan(session, datetime(2026, 11, 3, tzinfo=UTC), 11, [("bank-a", "pdq")])
        session.commit()
    monkeypatch.setenv("BASTION_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("BASTION_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["reports", "build", "--kind", "india-monthly", "--period", "2026-11",
                                          "--format", "json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["detection"]["matches_by_bank"] == {"bank-a": 1}


def test_the_api_serves_reports_to_compliance_staff_only(app, clock, user_factory) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from bastion.auth.roles import Role
    from tests.conftest import api_login

    compliance, reviewer = TestClient(app), TestClient(app)
    api_login(compliance, user_factory(Role.COMPLIANCE), clock)
    api_login(reviewer, user_factory(Role.REVIEWER), clock)
    csv_report = compliance.get("/api/v1/transparency/india-monthly", params={"period": "2026-11", "format": "csv"})
    assert csv_report.status_code == 200 and csv_report.headers["content-type"].startswith("text/csv")
    assert csv_report.text.startswith("section,key,figure,value") and "detection,,scans,0" in csv_report.text
    bad = compliance.get("/api/v1/transparency/monthly", params={"period": "2026-11"})
    assert bad.status_code == 422 and "india-monthly" in bad.text and "le-transparency" in bad.text
    assert compliance.get("/api/v1/transparency/le-transparency", params={"period": "2026-H3"}).status_code == 422
    assert reviewer.get("/api/v1/transparency/india-monthly", params={"period": "2026-11"}).status_code == 403


def test_cli_writes_a_pdf(sessions: sessionmaker[Session], engine, tmp_path,  # type: ignore[no-untyped-def]
                          monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    import pypdf

    from bastion.config import get_settings

    monkeypatch.setenv("BASTION_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("BASTION_DATA_DIR", str(tmp_path / "var"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["reports", "build", "--kind", "le-transparency", "--period", "2026-H1",
                                          "--format", "pdf"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    text = pypdf.PdfReader(io.BytesIO(result.stdout_bytes)).pages[0].extract_text()
    assert "Law-enforcement requests" in text and "2026-H1" in text
