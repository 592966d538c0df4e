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
from bastion.web.ui.paging import next_url
from bastion.web.ui.render import render

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store, private"}


@router.get("/dsa/statements")
def dsa_statements(request: Request, status: str = "", q: str = "", cursor: str = "", error: str = "",
                   db: Session = Depends(get_db), principal: Principal = needs(Perm.COMPLIANCE_REPORTS)) -> Response:
    """Statements newest first, one keyset page at a time; by state, or by exact puid."""
    status = status if status in STATES else ""
    page = listing(db, status=status, puid=q, cursor=cursor or None)
    return render(request, "dsa_statements.html", {
        "rows": page.rows, "counts": counts(db), "status": status, "q": q, "paged": bool(cursor),
        "next_url": next_url(request, page.next_cursor), "states": STATES, "error": error}, headers=NO_STORE)


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
