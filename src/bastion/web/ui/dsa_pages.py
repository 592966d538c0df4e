"""The DSA statements of reasons owed to the Transparency Database, and where each one's filing stands."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.dsa.build import counts, listing, refile
from bastion.dsa.models import STATES, DsaStatement
from bastion.errors import NotFound
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state
from bastion.web.ui.acts import act_and_return
from bastion.web.ui.render import render

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store, private"}
PER_PAGE = 50


@router.get("/dsa/statements")
def dsa_statements(request: Request, status: str = "", page: int = 1, error: str = "", db: Session = Depends(get_db),
                   principal: Principal = needs(Perm.COMPLIANCE_REPORTS)) -> Response:
    status = status if status in STATES else ""
    return render(request, "dsa_statements.html", {
        "rows": listing(db, status=status, page=page, per_page=PER_PAGE), "counts": counts(db), "status": status,
        "states": STATES, "page": page, "per_page": PER_PAGE, "error": error}, headers=NO_STORE)


@router.post("/dsa/statements/{statement_id}/refile")
def refile_statement(request: Request, statement_id: int, note: str = Form(""), db: Session = Depends(get_db),
                     principal: Principal = needs(Perm.COMPLIANCE_PUBLISH)) -> Response:
    """Build a refused statement again after its cause was fixed, or release a held one (with a note)."""
    def act() -> None:
        row = db.get(DsaStatement, statement_id)
        if row is None:
            raise NotFound(f"No DSA statement {statement_id}.")
        refile(db, row, get_state(request).clock, actor=principal.actor, note=note)

    return act_and_return(db, act, "/dsa/statements")
