"""The Transparency pages: two compliance officers draft, approve and publish; others read; charts are SVG."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pypdf
from fastapi.testclient import TestClient
from PIL import Image

from bastion.auth.roles import Role
from bastion.clock import ManualClock
from bastion.reports import charts
from tests.conftest import api_login


def _login(app, user_factory, clock: ManualClock, role: Role) -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    http = TestClient(app)
    return http, api_login(http, user_factory(role), clock)


def test_two_officers_publish_and_the_frozen_report_is_served(app, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    clock.set(datetime(2026, 12, 3, 9, tzinfo=UTC))
    alice, alice_csrf = _login(app, user_factory, clock, Role.COMPLIANCE)
    bob, bob_csrf = _login(app, user_factory, clock, Role.COMPLIANCE)
    auditor, auditor_csrf = _login(app, user_factory, clock, Role.AUDITOR)
    reviewer, _ = _login(app, user_factory, clock, Role.REVIEWER)

    bad = alice.post("/transparency/draft", data={"kind": "weekly", "period": "2026-11", "csrf_token": alice_csrf},
                     follow_redirects=False)
    assert bad.status_code == 303 and "india-monthly" in bad.headers["location"]
    drafted = alice.post("/transparency/draft", data={"kind": "india-monthly", "period": "2026-11",
                                                      "csrf_token": alice_csrf}, follow_redirects=False)
    path = drafted.headers["location"]
    assert re.fullmatch(r"/transparency/\d+", path), path
    page = alice.get(path).text
    assert 'id="approve" disabled' in page  # the drafter is told a second person approves
    refused = alice.post(f"{path}/approve", data={"csrf_token": alice_csrf}, follow_redirects=False)
    assert "second%20person" in refused.headers["location"]
    assert auditor.post(f"{path}/approve", data={"csrf_token": auditor_csrf}).status_code == 403
    assert bob.post(f"{path}/approve", data={"csrf_token": bob_csrf}, follow_redirects=False).headers["location"] \
        == path
    assert bob.post(f"{path}/publish", data={"csrf_token": bob_csrf}, follow_redirects=False).headers["location"] \
        == path
    page = auditor.get(path).text
    assert "<strong>Published</strong>" in page and "frozen at publication" in page
    listing = auditor.get("/transparency").text
    assert path in listing and 'id="draft-form"' not in listing  # auditors read, they do not draft
    pdf = auditor.get(f"{path}/download/pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "Monthly compliance report" in pypdf.PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    api = alice.get("/api/v1/transparency/india-monthly", params={"period": "2026-11", "format": "pdf"})
    assert api.content == pdf.content and api.headers["x-report-version"] == "1"
    assert reviewer.get("/transparency").status_code == 403
    assert reviewer.get(f"{path}/download/csv").status_code == 403


def test_charts_are_served_as_svg_and_drawn_bar_for_bar(app, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    clock.set(datetime(2026, 12, 3, 9, tzinfo=UTC))
    http, _ = _login(app, user_factory, clock, Role.LEGAL)
    page = http.get("/transparency").text
    sources = re.findall(r'<img src="([^"]+\.svg)"', page)
    assert sources == ["/transparency/charts/matches-per-day/2026-11.svg",
                       "/transparency/charts/requests-per-country/2026-H2.svg",
                       "/transparency/charts/legal-clocks/2026-H2.svg"]
    svg = http.get(sources[0])
    assert svg.headers["content-type"].startswith("image/svg+xml") and "<svg" in svg.text
    assert "No records in this period" in svg.text  # an empty month draws no bars
    assert http.get("/transparency/charts/pie/2026-11.svg").status_code == 404


def test_chart_rendering() -> None:
    chart = charts.Chart("t", "Three days", ["01", "02", "03"], {"bank-a": [1, 0, 2], "bank-b": [3, 1, 0]})
    svg = charts.svg(chart)
    assert svg == charts.svg(chart)  # stable output
    assert sorted(re.findall(r'id="(bar-[^"]+)"', svg)) == sorted(
        f"bar-{bank}-{i}" for bank in ("bank_a", "bank_b") for i in range(3))
    image = Image.open(io.BytesIO(charts.png(chart)))
    assert image.format == "PNG" and image.size == (750, 300)
    colours = {c for _, c in image.convert("RGB").getcolors(maxcolors=1 << 16)}
    assert (0x1F, 0x5F, 0x99) in colours and (0xD9, 0x82, 0x2B) in colours  # both series were painted
    one = Image.open(io.BytesIO(charts.png(charts.Chart("t", "One", ["01"], {"bank-a": [1]}))))
    assert (0xD9, 0x82, 0x2B) not in {c for _, c in one.convert("RGB").getcolors(maxcolors=1 << 16)}


def test_the_page_says_how_far_the_daily_totals_reach(app, clock: ManualClock, user_factory) -> None:  # type: ignore[no-untyped-def]  # noqa: E501
    from sqlalchemy.orm import Session

    from bastion.reports import rollup
    from bastion.scanning.models import Scan

    clock.set(datetime(2026, 11, 1, 9, tzinfo=UTC))
    with Session(app.state.bastion.engine) as session:
        session.add(Scan(created_at=clock.now(), source="upload", md5="0" * 32, sha1="0" * 40, sha256="0" * 64))
        session.commit()
    clock.set(datetime(2026, 12, 3, 9, tzinfo=UTC))
    http, _ = _login(app, user_factory, clock, Role.COMPLIANCE)
    behind = http.get("/transparency").text
    assert "no day yet" in behind and "The totals are 32 days behind" in behind
    with Session(app.state.bastion.engine) as session:
        assert rollup.roll(session, clock) == 32
    caught_up = http.get("/transparency").text
    assert "every day before 2026-12-03" in caught_up and "days behind" not in caught_up
