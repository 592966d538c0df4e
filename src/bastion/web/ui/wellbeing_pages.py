"""The wellbeing pages: a reviewer's own day and fortnight, and a lead's view of each reviewer.

Every figure comes from `cases.wellbeing`, read from records already kept; the chart is drawn on the
server (`reports.charts`, SVG) and fetched as an image, so no script and no inline style. A reviewer
sees only their own page (the routes for anyone else need `review.lead`), and a lead's reading of
another reviewer's figures is audited (`wellness.viewed`), as exposure to harmful media is personal.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bastion import audit
from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.cases import wellbeing
from bastion.clock import Clock
from bastion.reports import charts
from bastion.reports.charts import Chart
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state
from bastion.web.ui.paging import next_url
from bastion.web.ui.render import render

router = APIRouter(include_in_schema=False)
#: Personal figures: never kept by a shared cache, and redrawn on each visit.
PRIVATE = {"Cache-Control": "no-store, private"}
REVEALED, VIDEO = "items revealed", "video minutes"


def chart(figures: wellbeing.Wellbeing) -> Chart:
    """The fortnight as bars (items revealed) with video minutes as a line on its own axis."""
    return Chart("wellbeing", f"Last {wellbeing.DAYS} days (UTC)", [d.day.strftime("%d %b") for d in figures.days],
                 {REVEALED: [d.revealed for d in figures.days]}, stacked=False, ylabel="items",
                 lines={VIDEO: [round(d.video_seconds / 60, 1) for d in figures.days]}, y2label="minutes")


def _page(request: Request, figures: wellbeing.Wellbeing, *, own: bool, chart_url: str) -> Response:
    return render(request, "wellbeing.html", {"w": figures, "own": own, "chart_url": chart_url,
                                              "days": list(reversed(figures.days))}, headers=PRIVATE)


def _svg(figures: wellbeing.Wellbeing) -> Response:
    return Response(charts.svg(chart(figures)), media_type="image/svg+xml", headers=PRIVATE)


def _read_other(db: Session, principal: Principal, user_id: int, what: str, clock: Clock) -> wellbeing.Wellbeing:
    """A lead reads a reviewer's figures: the reviewer must exist, and the reading is audited."""
    figures = wellbeing.figures(db, wellbeing.reviewer(db, user_id).id, clock)
    if user_id != principal.user_id:
        audit.record(db, actor=principal.actor, action="wellness.viewed", subject=f"user:{user_id}",
                     details={"what": what}, clock=clock)
        db.commit()
    return figures


@router.get("/review/wellbeing")
def my_wellbeing(request: Request, db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.MEDIA_VIEW)) -> Response:
    """My own figures: today against my limits, the time since my last break, and my last 14 days."""
    figures = wellbeing.figures(db, principal.user_id, get_state(request).clock)
    return _page(request, figures, own=True, chart_url="/review/wellbeing/chart.svg")


@router.get("/review/wellbeing/chart.svg")
def my_wellbeing_chart(request: Request, db: Session = Depends(get_db),
                       principal: Principal = needs(Perm.MEDIA_VIEW)) -> Response:
    return _svg(wellbeing.figures(db, principal.user_id, get_state(request).clock))


@router.get("/review/wellbeing/reviewers")
def reviewers_list(request: Request, q: str = "", cursor: str = "", db: Session = Depends(get_db),
                   principal: Principal = needs(Perm.REVIEW_LEAD)) -> Response:
    """For a lead: every reviewer by name, with today's reveals, searchable and keyset-paged."""
    page = wellbeing.reviewers(db, get_state(request).clock, search=q, cursor=cursor or None)
    return render(request, "wellbeing_reviewers.html", {"rows": page.rows, "q": q,
                                                        "next_url": next_url(request, page.next_cursor)},
                  headers=PRIVATE)


@router.get("/review/wellbeing/{user_id:int}")
def reviewer_wellbeing(request: Request, user_id: int, db: Session = Depends(get_db),
                       principal: Principal = needs(Perm.REVIEW_LEAD)) -> Response:
    """A lead reads one reviewer's page (audited)."""
    figures = _read_other(db, principal, user_id, "page", get_state(request).clock)
    return _page(request, figures, own=user_id == principal.user_id,
                 chart_url=f"/review/wellbeing/{user_id}/chart.svg")


@router.get("/review/wellbeing/{user_id:int}/chart.svg")
def reviewer_wellbeing_chart(request: Request, user_id: int, db: Session = Depends(get_db),
                             principal: Principal = needs(Perm.REVIEW_LEAD)) -> Response:
    return _svg(_read_other(db, principal, user_id, "chart", get_state(request).clock))
