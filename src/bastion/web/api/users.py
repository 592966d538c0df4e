"""User management (admin)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bastion.auth import users
from bastion.auth.models import User
from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state

router = APIRouter(prefix="/api/v1/users", tags=["users"])


class UserOut(BaseModel):
    id: int
    username: str
    email: str
    role: str
    disabled: bool
    totp_enabled: bool
    created_at: datetime
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> "UserOut":
        return cls.model_validate(user, from_attributes=True)


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=150)
    role: str
    password: str | None = Field(None, max_length=1000)
    email: str = Field("", max_length=320)


class UserPatch(BaseModel):
    role: str | None = None
    disabled: bool | None = None


@router.get("")
def list_users(db: Session = Depends(get_db), _: Principal = needs(Perm.USERS_MANAGE)) -> list[UserOut]:
    return [UserOut.of(u) for u in users.list_users(db)]


@router.post("", status_code=201)
def create_user(body: UserCreate, request: Request, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.USERS_MANAGE)) -> UserOut:
    user = users.create_user(db, username=body.username, role=users.parse_role(body.role), password=body.password,
                             email=body.email, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return UserOut.of(user)


@router.patch("/{user_id}")
def update_user(user_id: int, body: UserPatch, request: Request, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.USERS_MANAGE)) -> UserOut:
    clock = get_state(request).clock
    user = users.get_user(db, user_id)
    if body.role is not None:
        users.set_role(db, user, users.parse_role(body.role), actor=principal.actor, clock=clock)
    if body.disabled is not None:
        users.set_disabled(db, user, body.disabled, actor=principal.actor, clock=clock)
    db.commit()
    return UserOut.of(user)


@router.post("/{user_id}/password-reset", status_code=202)
def start_password_reset(user_id: int, request: Request, db: Session = Depends(get_db),
                         principal: Principal = needs(Perm.USERS_MANAGE)) -> dict[str, str]:
    """Mail the user a single-use reset link (the admin never sees it)."""
    from bastion.auth import resets
    from bastion.web.api.account import reset_config

    state = get_state(request)
    user = users.get_user(db, user_id)
    row = resets.start_reset(db, user, actor=principal.actor, config=reset_config(state), clock=state.clock)
    db.commit()
    return {"status": "sent", "to": user.email, "expires_at": row.expires_at.isoformat()}
