"""Hash exchanges over JSON: list and read (settings and status, never credentials); add, pause, resume,
fetch now, replace credentials and delete (admin only). The fetch itself runs from the exchange's timer."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.exchanges import service, sharing
from bastion.exchanges.tasks import POLICY_SERVICE
from bastion.exchanges.types import TYPES
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state

router = APIRouter(prefix="/api/v1/exchanges", tags=["exchanges"])
contributions_router = APIRouter(prefix="/api/v1/exchange-contributions", tags=["exchanges"])


class ExchangeIn(BaseModel):
    name: str = Field(description="UPPER_CASE_WITH_UNDERSCORES")
    api: str = Field(description="exchange type: " + ", ".join(TYPES))
    settings: dict[str, Any] = Field(default_factory=dict, description="the type's settings (GET /types)")
    banks: list[str] = Field(description="banks the exchange's content feeds")
    credentials: dict[str, str] = Field(default_factory=dict, description="write-only; never shown again")
    fetch_every_minutes: int = Field(60, ge=service.MIN_EVERY_MINUTES, le=service.MAX_EVERY_MINUTES)
    create_banks: bool = Field(False, description="create banks that do not exist yet")


class CredentialsIn(BaseModel):
    credentials: dict[str, str]


class SharingIn(BaseModel):
    confirmed: bool = Field(False, description="positive feedback on matches reviewers confirm")
    false_positive: bool = Field(False, description="negative feedback on matches reviewers reject")
    new_material: bool = Field(False, description="hashes of confirmed material no bank knew")
    second_approver: bool = Field(False, description="each contribution waits for a second person")


class RefusalIn(BaseModel):
    reason: str = Field(min_length=1, max_length=500)


def shown(view: service.ExchangeView) -> dict[str, Any]:
    return asdict(view)


@router.get("", dependencies=[needs(Perm.EXCHANGES_READ)])
def list_exchanges(db: Session = Depends(get_db)) -> list[dict[str, Any]]:
    return [shown(service.view(db, e)) for e in service.list_exchanges(db)]


@router.get("/types", dependencies=[needs(Perm.EXCHANGES_READ)])
def list_types() -> list[dict[str, Any]]:
    return [{"api": t.name, "label": t.label, "settings": t.settings, "credentials": t.credentials,
             "snapshot": t.snapshot} for t in TYPES.values()]


@router.post("", status_code=201)
def add_exchange(body: ExchangeIn, request: Request, db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.EXCHANGES_MANAGE)) -> dict[str, Any]:
    state = get_state(request)
    exchange = service.add_exchange(
        db, name=body.name, api=body.api, settings=body.settings, bank_names=body.banks,
        credentials=body.credentials, fetch_every_minutes=body.fetch_every_minutes, actor=principal.actor,
        clock=state.clock, secret=state.secret, policy=state.services[POLICY_SERVICE], create_banks=body.create_banks)
    db.commit()
    return shown(service.view(db, exchange))


@router.get("/{name}", dependencies=[needs(Perm.EXCHANGES_READ)])
def get_exchange(name: str, db: Session = Depends(get_db)) -> dict[str, Any]:
    return shown(service.view(db, service.get_exchange(db, name)))


@router.post("/{name}/pause")
def pause(name: str, request: Request, db: Session = Depends(get_db),
          principal: Principal = needs(Perm.EXCHANGES_MANAGE)) -> dict[str, Any]:
    exchange = service.get_exchange(db, name)
    service.set_paused(db, exchange, True, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return shown(service.view(db, exchange))


@router.post("/{name}/resume")
def resume(name: str, request: Request, db: Session = Depends(get_db),
           principal: Principal = needs(Perm.EXCHANGES_MANAGE)) -> dict[str, Any]:
    exchange = service.get_exchange(db, name)
    service.set_paused(db, exchange, False, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return shown(service.view(db, exchange))


@router.post("/{name}/fetch", status_code=202)
def fetch_now(name: str, request: Request, db: Session = Depends(get_db),
              principal: Principal = needs(Perm.EXCHANGES_MANAGE)) -> dict[str, Any]:
    """The exchange's timer becomes due now; the background ticker runs the fetch."""
    exchange = service.get_exchange(db, name)
    service.request_fetch(db, exchange, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return shown(service.view(db, exchange))


@router.put("/{name}/credentials")
def replace_credentials(name: str, body: CredentialsIn, request: Request, db: Session = Depends(get_db),
                        principal: Principal = needs(Perm.EXCHANGES_MANAGE)) -> dict[str, Any]:
    state = get_state(request)
    exchange = service.get_exchange(db, name)
    service.set_credentials(db, exchange, body.credentials, actor=principal.actor, clock=state.clock,
                            secret=state.secret)
    db.commit()
    return shown(service.view(db, exchange))


@router.delete("/{name}")
def delete_exchange(name: str, request: Request, db: Session = Depends(get_db),
                    principal: Principal = needs(Perm.EXCHANGES_MANAGE)) -> dict[str, Any]:
    service.delete_exchange(db, service.get_exchange(db, name), actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return {"deleted": name}


@router.put("/{name}/sharing")
def set_sharing(name: str, body: SharingIn, request: Request, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.EXCHANGES_MANAGE)) -> dict[str, Any]:
    """What Bastion shares back with the exchange (hashes and feedback, never media); decisions from now on."""
    exchange = service.get_exchange(db, name)
    sharing.set_sharing(db, exchange, sharing.Sharing(**body.model_dump()), actor=principal.actor,
                        clock=get_state(request).clock)
    db.commit()
    return shown(service.view(db, exchange))


@contributions_router.get("", dependencies=[needs(Perm.EXCHANGES_READ)])
def list_contributions(exchange: str = "", status: str = "", cursor: str | None = None, limit: int | None = None,
                       db: Session = Depends(get_db)) -> dict[str, Any]:
    """The newest contributions first, a page at a time (`next_cursor`); `status=needs_approval` lists those
    waiting for a second person."""
    page = sharing.contributions(db, exchange=exchange, status=status, cursor=cursor, limit=limit)
    return {"contributions": [asdict(c) for c in page.rows], "next_cursor": page.next_cursor}


@contributions_router.post("/{contribution_id}/approve")
def approve(contribution_id: int, request: Request, db: Session = Depends(get_db),
            principal: Principal = needs(Perm.EXCHANGES_APPROVE)) -> dict[str, Any]:
    sharing.approve(db, contribution_id, approver_id=principal.user_id, actor=principal.actor,
                    clock=get_state(request).clock)
    db.commit()
    return {"approved": contribution_id}


@contributions_router.post("/{contribution_id}/refuse")
def refuse(contribution_id: int, body: RefusalIn, request: Request, db: Session = Depends(get_db),
           principal: Principal = needs(Perm.EXCHANGES_APPROVE)) -> dict[str, Any]:
    sharing.refuse(db, contribution_id, approver_id=principal.user_id, actor=principal.actor, reason=body.reason,
                   clock=get_state(request).clock)
    db.commit()
    return {"refused": contribution_id}
