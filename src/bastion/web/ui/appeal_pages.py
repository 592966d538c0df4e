"""The appeals desk: the queue by deadline, and an appeal with its case's facts (never its media)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bastion.appeals import service
from bastion.auth.models import User
from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.cases.service import get_case, items_of
from bastion.errors import PermissionDenied
from bastion.notices.statements import notices_for
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state
from bastion.web.ui.acts import act_and_return
from bastion.web.ui.paging import next_url
from bastion.web.ui.render import render

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store, private"}


@router.get("/appeals")
def appeal_queue(request: Request, q: str = "", status: str = "received", cursor: str = "",
                 db: Session = Depends(get_db), principal: Principal = needs(Perm.APPEAL_READ)) -> Response:
    """Open appeals by deadline or decided ones latest first, one keyset page at a time."""
    status = status if status in ("received", "decided") else "received"
    page = service.queue(db, search=q, status=status, cursor=cursor or None)
    return render(request, "appeals.html", {"rows": page.rows, "q": q, "status": status, "paged": bool(cursor),
                                            "next_url": next_url(request, page.next_cursor),
                                            "now": get_state(request).clock.now()}, headers=NO_STORE)


@router.get("/appeals/{appeal_id}")
def appeal_page(request: Request, appeal_id: int, error: str = "", db: Session = Depends(get_db),
                principal: Principal = needs(Perm.APPEAL_READ)) -> Response:
    appeal = service.get(db, appeal_id)
    case = get_case(db, appeal.case_id)
    user = db.get(User, principal.user_id) if principal.user_id else None
    return render(request, "appeal.html", {
        "a": appeal, "case": case, "items": [i for i in items_of(db, case.id) if i.decision == "confirmed"],
        "may_decide": user is not None and service.may_decide(db, appeal, user), "error": error,
        "notices": notices_for(db, f"case:{case.id}") + notices_for(db, f"appeal:{appeal.id}"),
        "overdue": service.overdue(appeal, get_state(request).clock.now()), "outcomes": service.OUTCOMES},
        headers=NO_STORE)


@router.post("/appeals/{appeal_id}/decide")
def decide(request: Request, appeal_id: int, outcome: str = Form(""), text: str = Form(""),
           db: Session = Depends(get_db), principal: Principal = needs(Perm.APPEAL_DECIDE)) -> Response:
    user = db.get(User, principal.user_id) if principal.user_id else None

    def act() -> None:
        if user is None:
            raise PermissionDenied("Only a signed-in person decides an appeal.")
        service.decide(db, service.get(db, appeal_id), user, outcome=outcome, text=text,
                       clock=get_state(request).clock)

    return act_and_return(db, act, f"/appeals/{appeal_id}")
