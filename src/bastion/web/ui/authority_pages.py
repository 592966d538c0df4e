"""A confirmed case's reports to authorities beyond NCMEC: build the package, record delivery and receipt."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.authorities import reports
from bastion.web.api.legal import connector_of, signing_key_of
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state
from bastion.web.ui.acts import act_and_return

router = APIRouter(include_in_schema=False)


def _act(db: Session, case_id: int, act: Callable[[], object]) -> Response:
    return act_and_return(db, act, f"/cases/{case_id}", anchor="authorities")


@router.post("/cases/{case_id}/authorities/{destination}")
def build(request: Request, case_id: int, destination: str, db: Session = Depends(get_db),
          principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    """Build and sign the package for one destination (e.g. POCSO Rule 11) from the confirmed case."""
    state = get_state(request)

    def act() -> None:
        with connector_of(request) as connector:
            reports.build(db, case_id, destination, connector=connector, vault=state.services.get("evidence.vault"),
                          signing_key=signing_key_of(request), actor=principal.actor, clock=state.clock)

    return _act(db, case_id, act)


@router.post("/cases/{case_id}/authority-reports/{report_id}/delivered")
def delivered(request: Request, case_id: int, report_id: int, channel: str = Form(""), reference: str = Form(""),
              db: Session = Depends(get_db), principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    return _act(db, case_id, lambda: reports.record_delivery(
        db, reports.get(db, case_id, report_id), channel=channel, reference=reference, actor=principal.actor,
        clock=get_state(request).clock))


@router.post("/cases/{case_id}/authority-reports/{report_id}/acknowledged")
def acknowledged(request: Request, case_id: int, report_id: int, number: str = Form(""),
                 db: Session = Depends(get_db), principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    return _act(db, case_id, lambda: reports.record_acknowledgement(
        db, reports.get(db, case_id, report_id), number=number, actor=principal.actor,
        clock=get_state(request).clock))


@router.get("/cases/{case_id}/authority-reports/{report_id}/package")
def download(request: Request, case_id: int, report_id: int, db: Session = Depends(get_db),
             principal: Principal = needs(Perm.CASES_REVIEW)) -> Response:
    """The signed package (it holds the material: reviewers and leads only, read recorded in custody)."""
    name, data = reports.package(db, reports.get(db, case_id, report_id),
                                 vault=get_state(request).services.get("evidence.vault"), actor=principal.actor)
    db.commit()
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store, private"})
