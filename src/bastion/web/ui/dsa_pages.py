"""The DSA statements of reasons owed to the Transparency Database, and where each one's filing stands."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.dsa.build import counts, listing
from bastion.dsa.models import STATES
from bastion.web.guard import needs
from bastion.web.state import get_db
from bastion.web.ui.render import render

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store, private"}
PER_PAGE = 50


@router.get("/dsa/statements")
def dsa_statements(request: Request, status: str = "", page: int = 1, db: Session = Depends(get_db),
                   principal: Principal = needs(Perm.COMPLIANCE_REPORTS)) -> Response:
    status = status if status in STATES else ""
    return render(request, "dsa_statements.html", {
        "rows": listing(db, status=status, page=page, per_page=PER_PAGE), "counts": counts(db), "status": status,
        "states": STATES, "page": page, "per_page": PER_PAGE}, headers=NO_STORE)
