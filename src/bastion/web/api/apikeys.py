"""API keys for machine clients (admin). The key itself is returned once, at creation."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bastion.auth import apikeys, users
from bastion.auth.models import ApiKey
from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state

router = APIRouter(prefix="/api/v1/apikeys", tags=["api keys"])


class KeyOut(BaseModel):
    id: int
    name: str
    owner: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, key: ApiKey, owner: str) -> "KeyOut":
        return cls(id=key.id, name=key.name, owner=owner, prefix=key.prefix, scopes=key.scopes.split(),
                   created_at=key.created_at, revoked_at=key.revoked_at, last_used_at=key.last_used_at)


class KeyCreate(BaseModel):
    owner: str = Field(min_length=1, description="Username the key acts as.")
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] | None = Field(None, description="Permissions; default: all the owner's role holds.")


class KeyCreated(KeyOut):
    key: str = Field(description="The secret. Shown only now; store it safely.")


@router.get("")
def list_keys(db: Session = Depends(get_db), _: Principal = needs(Perm.APIKEYS_MANAGE)) -> list[KeyOut]:
    return [KeyOut.of(key, owner) for key, owner in apikeys.list_keys(db)]


@router.post("", status_code=201)
def create_key(body: KeyCreate, request: Request, db: Session = Depends(get_db),
               principal: Principal = needs(Perm.APIKEYS_MANAGE)) -> KeyCreated:
    owner = users.require_user(db, body.owner)
    issued = apikeys.create_key(db, owner, name=body.name, scopes=body.scopes, actor=principal.actor,
                                clock=get_state(request).clock)
    db.commit()
    return KeyCreated(**KeyOut.of(issued.row, owner.username).model_dump(), key=issued.secret)


@router.delete("/{key_id}")
def revoke_key(key_id: int, request: Request, db: Session = Depends(get_db),
               principal: Principal = needs(Perm.APIKEYS_MANAGE)) -> dict[str, str]:
    apikeys.revoke_key(db, key_id, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return {"status": "revoked"}
