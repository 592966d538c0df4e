"""Law-enforcement figures per country from requests seeded with the injected clock."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bastion.clock import ManualClock
from bastion.legal.models import LegalRequest
from bastion.reports.build import figures, render
from tests.legal.conftest import bnss_notice


def test_requests_per_country(desk: sessionmaker[Session], submit, clock: ManualClock) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    first = submit(bnss_notice())
    second = submit(bnss_notice(accounts=[{"kind": "url", "value": "https://demo.example/posts/post-3001"}]))
    with desk() as session:
        answered = session.get(LegalRequest, second.id)
        assert answered is not None
        answered.answered_at = answered.received_at
        session.commit()
        since = min(first.received_at, second.received_at)
        period = f"{since.year:04d}-{since.month:02d}"
        report = figures(session, "le-transparency", period, datetime(2030, 1, 1, tzinfo=UTC))
    india = report["law_enforcement"]["IN"]
    assert india["requests"] == 2
    assert india["accounts_specified"] == 3
    assert india["by_instrument"] == {"in_bnss_94": 2}
    assert india["by_outcome"] == {"open": 1, "preserved": 1}
    # an answer without a disclosure is outcome "preserved"; a preservation *request* is one under a
    # preservation instrument (2703(f), EPOC-PR), and there is none here
    assert india["preservation"] == 0 and india["some_data_produced"] == 0
    assert (india["clocks_met"], india["clocks_breached"], india["emergency"]) == (1, 1, 0)
    assert report["period"] == "2026-01" and report["provisional"] is False
    body = render(report, "csv") + render(report, "json")
    for secret in (b"Patil", b"post-2001", b"post-3001", first.reference.encode()):
        assert secret not in body
