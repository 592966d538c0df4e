"""API keys for machine clients (admin). The key itself is returned once, at creation."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bastion.auth import apikeys, users
from bastion.auth.models import ApiKey
from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.clock import Clock
from bastion.web.guard import needs
from bastion.web.state import AppState, get_db, get_state

router = APIRouter(prefix="/api/v1/apikeys", tags=["api keys"])


class KeyOut(BaseModel):
    id: int
    name: str
    owner: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    status: str = Field(description="active, expired or revoked")
    step_up: bool = Field(description="Minted by its owner with a fresh second factor (may reach media or account data).")
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey, owner: str, clock: Clock) -> "KeyOut":
        return cls(id=key.id, name=key.name, owner=owner, prefix=key.prefix, scopes=key.scopes.split(),
                   created_at=key.created_at, expires_at=key.expires_at, status=apikeys.status_of(key, clock),
                   step_up=key.step_up, revoked_at=key.revoked_at, last_used_at=key.last_used_at)


class KeyCreate(BaseModel):
    owner: str = Field(min_length=1, max_length=150, description="Username the key acts as.")
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] | None = Field(None, description="Permissions; default: all the owner's role holds that you "
                                                      "hold too, media and account data excepted.")
    expires_in_days: int | None = Field(None, ge=1, le=36500, description="Lifetime; default and maximum are settings.")


class KeyCreated(KeyOut):
    key: str = Field(description="The secret. Shown only now; store it safely.")


def lifetimes(state: AppState) -> apikeys.Lifetimes:
    s = state.settings
    return apikeys.Lifetimes(default=timedelta(days=s.apikey_default_days), maximum=timedelta(days=s.apikey_max_days),
                             step_up_max=timedelta(minutes=s.apikey_step_up_max_minutes))


@router.get("")
def list_keys(request: Request, db: Session = Depends(get_db), _: Principal = needs(Perm.APIKEYS_MANAGE)
              ) -> list[KeyOut]:
    clock = get_state(request).clock
    return [KeyOut.of(key, owner, clock) for key, owner in apikeys.list_keys(db)]


@router.post("", status_code=201)
def create_key(body: KeyCreate, request: Request, db: Session = Depends(get_db),
               principal: Principal = needs(Perm.APIKEYS_MANAGE)) -> KeyCreated:
    state = get_state(request)
    owner = users.require_user(db, body.owner)
    minter = apikeys.Minter(actor=principal.actor, role=principal.role, user_id=principal.user_id)
    lifetime = timedelta(days=body.expires_in_days) if body.expires_in_days else None
    issued = apikeys.create_key(db, owner, name=body.name, scopes=body.scopes, minter=minter, clock=state.clock,
                                lifetime=lifetime, limits=lifetimes(state))
    db.commit()
    return KeyCreated(**KeyOut.of(issued.row, owner.username, state.clock).model_dump(), key=issued.secret)


@router.delete("/{key_id}")
def revoke_key(key_id: int, request: Request, db: Session = Depends(get_db),
               principal: Principal = needs(Perm.APIKEYS_MANAGE)) -> dict[str, str]:
    apikeys.revoke_key(db, key_id, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return {"status": "revoked"}
