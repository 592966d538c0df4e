"""The landing page's charts: each one an SVG drawn on the server from `reports.trends`, behind the
permission of the records it counts, and each role offered the charts of its own work.

One route per chart, so each declares the one permission its data needs (a legal officer cannot
fetch the review queue's chart by guessing its address, whatever the landing page shows).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.auth.roles import Role
from bastion.reports import charts, trends
from bastion.reports.charts import Chart
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state

router = APIRouter(include_in_schema=False)
#: A minute's cache in the viewer's browser only: a reload does not redraw, and nothing is shared.
CACHE = {"Cache-Control": "private, max-age=60"}

#: chart key -> (the permission its records need, how it is built)
CHARTS: dict[str, tuple[Perm, Callable[[Session, datetime], Chart]]] = {
    "matches-per-day": (Perm.SCAN_READ, trends.matches_per_day),
    "review-queue": (Perm.CASES_READ, trends.review_queue),
    "time-to-decision": (Perm.CASES_READ, trends.time_to_decision),
    "cybertipline-per-week": (Perm.CASES_READ, trends.cybertipline_per_week),
    "legal-clocks-per-week": (Perm.LEGAL_READ, trends.legal_clocks_per_week),
    "requests-per-country": (Perm.LEGAL_READ, trends.requests_per_country),
}

#: Each role's landing page: the charts of its own work, most urgent first.
ROLE_CHARTS: dict[Role, tuple[str, ...]] = {
    Role.REVIEWER: ("review-queue", "time-to-decision"),
    Role.LEAD: ("review-queue", "time-to-decision", "matches-per-day", "cybertipline-per-week"),
    Role.LEGAL: ("legal-clocks-per-week", "requests-per-country"),
    Role.COMPLIANCE: ("matches-per-day", "cybertipline-per-week", "legal-clocks-per-week", "requests-per-country"),
    Role.ADMIN: ("matches-per-day", "review-queue", "legal-clocks-per-week"),
}


def landing_charts(principal: Principal) -> list[str]:
    """The charts this person's landing page shows: their role's, of those their permissions allow."""
    return [key for key in ROLE_CHARTS.get(Role(principal.role), ()) if principal.can(CHARTS[key][0])]


def _chart_route(key: str, permission: Perm, build: Callable[[Session, datetime], Chart]) -> None:
    """`GET /charts/<key>.svg`, behind the one permission its records need."""

    def chart_svg(request: Request, db: Session = Depends(get_db)) -> Response:
        return Response(charts.svg(build(db, get_state(request).clock.now())), media_type="image/svg+xml",
                        headers=CACHE)

    chart_svg.__name__ = f"chart_{key.replace('-', '_')}"
    router.add_api_route(f"/charts/{key}.svg", chart_svg, methods=["GET"], dependencies=[needs(permission)])


for _key, (_permission, _build) in CHARTS.items():
    _chart_route(_key, _permission, _build)
