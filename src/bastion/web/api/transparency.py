"""`GET /api/v1/transparency/{kind}`: the same reports as `bastion reports build`, for compliance staff.

A period with a published version answers with that version's frozen bytes (and says which version
in `X-Report-Version`); otherwise the report is built from the records now.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.reports.build import check_format
from bastion.reports.period import check_kind, parse_period
from bastion.reports.versions import current
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state

router = APIRouter(prefix="/api/v1/transparency", tags=["transparency"])
MEDIA = {"csv": "text/csv; charset=utf-8", "json": "application/json", "pdf": "application/pdf"}


@router.get("/{kind}", dependencies=[needs(Perm.COMPLIANCE_REPORTS)])
def report(kind: str, request: Request, period: str = "", format: str = "json",
           db: Session = Depends(get_db)) -> Response:
    """Aggregates only (no account, content or officer), computed from Bastion's records for `period`
    (`2026-11`, `2026-H2`); a period still open is marked provisional. `format`: json, csv or pdf."""
    check_kind(kind)
    parse_period(period)
    check_format(format)
    body, version = current(db, kind, period, format, get_state(request).clock.now())
    headers = {"Cache-Control": "no-store, private",
               "Content-Disposition": f'inline; filename="{kind}-{period}.{format}"'}
    if version is not None:
        headers["X-Report-Version"] = str(version)
    return Response(body, media_type=MEDIA[format], headers=headers)
