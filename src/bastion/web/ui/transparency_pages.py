"""Transparency and compliance reports: the versions, drafting, approval by a second person, publication,
downloads, and the charts (SVG drawn on the server, served as images: no script, no CDN)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.errors import NotFound
from bastion.reports import charts, rollup, versions
from bastion.reports.build import FORMATS, TITLES, check_format, figures, flatten
from bastion.reports.monthly import last_closed
from bastion.reports.period import KINDS
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state
from bastion.web.ui.acts import act_and_return
from bastion.web.ui.paging import next_url
from bastion.web.ui.render import render

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store, private"}
MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json", "pdf": "application/pdf"}
CHARTS = {"matches-per-day": ("india-monthly", charts.matches_per_day),
          "requests-per-country": ("le-transparency", charts.requests_per_country),
          "legal-clocks": ("le-transparency", charts.clocks)}


def _half_of(month: str) -> str:
    return f"{month[:4]}-H{1 if int(month[5:7]) <= 6 else 2}"


@router.get("/transparency")
def transparency_page(request: Request, month: str = "", half: str = "", error: str = "", kind: str = "",
                      cursor: str = "", db: Session = Depends(get_db),
                      principal: Principal = needs(Perm.COMPLIANCE_REPORTS)) -> Response:
    """The charts, the drafting form and every version newest first (filtered by kind, keyset-paged)."""
    now = get_state(request).clock.now()
    month = month or last_closed(now)
    half = half or _half_of(month)
    listed = versions.versions_page(db, kind=kind, cursor=cursor or None)
    return render(request, "transparency.html", {
        "rows": listed.rows, "kind": kind, "next_url": next_url(request, listed.next_cursor),
        "kinds": KINDS, "titles": TITLES, "month": month, "half": half,
        "charts": [("matches-per-day", month), ("requests-per-country", half), ("legal-clocks", half)],
        "error": error, "formats": FORMATS, "totals": rollup.state(db, now)}, headers=NO_STORE)


@router.get("/transparency/charts/{key}/{period}.svg")
def chart_svg(request: Request, key: str, period: str, db: Session = Depends(get_db),
              principal: Principal = needs(Perm.COMPLIANCE_REPORTS)) -> Response:
    """A chart of the report in force for the period (the published version), or of a fresh build."""
    if key not in CHARTS:
        raise NotFound(f"No chart {key!r}; charts: {', '.join(CHARTS)}.")
    kind, make = CHARTS[key]
    row = versions.published(db, kind, period)
    report = versions.report_of(row) if row else figures(db, kind, period, get_state(request).clock.now())
    return Response(charts.svg(make(report)), media_type="image/svg+xml", headers=NO_STORE)


@router.get("/transparency/{version_id}")
def version_page(request: Request, version_id: int, error: str = "", db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.COMPLIANCE_REPORTS)) -> Response:
    row = versions.get_version(db, version_id)
    report = versions.report_of(row)
    return render(request, "transparency_version.html", {
        "v": row, "report": report, "figures": flatten(report), "error": error, "formats": FORMATS,
        "history": versions.versions_of(db, row.kind, row.period),
        "charts": [c.key for c in charts.charts_for(report)], "me": principal.user_id}, headers=NO_STORE)


@router.get("/transparency/{version_id}/charts/{key}.svg")
def version_chart(request: Request, version_id: int, key: str, db: Session = Depends(get_db),
                  principal: Principal = needs(Perm.COMPLIANCE_REPORTS)) -> Response:
    report = versions.report_of(versions.get_version(db, version_id))
    chart = next((c for c in charts.charts_for(report) if c.key == key), None)
    if chart is None:
        raise NotFound(f"This report has no chart {key!r}.")
    return Response(charts.svg(chart), media_type="image/svg+xml", headers=NO_STORE)


@router.get("/transparency/{version_id}/download/{fmt}")
def download(request: Request, version_id: int, fmt: str, db: Session = Depends(get_db),
             principal: Principal = needs(Perm.COMPLIANCE_REPORTS)) -> Response:
    """A published version's frozen bytes; a draft rendered from the figures it was drafted with."""
    check_format(fmt)
    row = versions.get_version(db, version_id)
    body = versions.frozen(row, fmt) if row.published_at else versions.rebuild(row, fmt)
    name = f"{row.kind}-{row.period}-v{row.version}.{fmt}"
    return Response(body, media_type=MEDIA[fmt], headers={**NO_STORE, "Content-Disposition":
                                                            f'attachment; filename="{name}"'})


@router.post("/transparency/draft")
def draft_page(request: Request, kind: str = Form(""), period: str = Form(""), note: str = Form(""),
               db: Session = Depends(get_db), principal: Principal = needs(Perm.COMPLIANCE_PUBLISH)) -> Response:
    state = get_state(request)
    made: list[int] = []

    def act() -> None:
        made.append(versions.draft(db, kind, period, actor=principal.actor, actor_id=principal.user_id,
                                   clock=state.clock, note=note).id)

    response = act_and_return(db, act, "/transparency")
    if made and "error=" not in response.headers["location"]:
        response.headers["location"] = f"/transparency/{made[0]}"
    return response


@router.post("/transparency/{version_id}/approve")
def approve_page(request: Request, version_id: int, db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.COMPLIANCE_PUBLISH)) -> Response:
    state = get_state(request)
    return act_and_return(db, lambda: versions.approve(db, version_id, actor=principal.actor,
                                                       actor_id=principal.user_id, clock=state.clock),
                          f"/transparency/{version_id}")


@router.post("/transparency/{version_id}/publish")
def publish_page(request: Request, version_id: int, db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.COMPLIANCE_PUBLISH)) -> Response:
    state = get_state(request)
    return act_and_return(db, lambda: versions.publish(db, version_id, actor=principal.actor,
                                                       actor_id=principal.user_id, clock=state.clock),
                          f"/transparency/{version_id}")
