"""`GET /api/v1/transparency/{kind}`: the same reports as `bastion reports build`, for compliance staff."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.reports.build import FORMATS, figures, render
from bastion.reports.period import BadReportRequest, check_kind, parse_period
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state

router = APIRouter(prefix="/api/v1/transparency", tags=["transparency"])
MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@router.get("/{kind}", dependencies=[needs(Perm.COMPLIANCE_REPORTS)])
def report(kind: str, request: Request, period: str = "", format: str = "json",
           db: Session = Depends(get_db)) -> Response:
    """Aggregates only (no account, content or officer), computed from Bastion's records for `period`
    (`2026-11`, `2026-H2`); a period still open is marked provisional."""
    check_kind(kind)
    parse_period(period)
    if format not in FORMATS:
        raise BadReportRequest(f"Unknown format {format!r}; valid formats: {', '.join(FORMATS)}.")
    body = render(figures(db, kind, period, get_state(request).clock.now()), format)
    return Response(body, media_type=MEDIA[format], headers={"Cache-Control": "no-store, private",
                    "Content-Disposition": f'inline; filename="{kind}-{period}.{format}"'})
