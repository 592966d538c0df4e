"""A signed-in person's own credentials over JSON: password change, own API keys, password reset links."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bastion.auth import account, apikeys, resets
from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.auth.users import acting_user
from bastion.errors import BastionError
from bastion.web import cookies
from bastion.web.api.apikeys import KeyCreated, KeyOut, lifetimes
from bastion.web.guard import needs
from bastion.web.state import AppState, get_db, get_state

router = APIRouter(prefix="/api/v1", tags=["account"])


@contextmanager
def keeping_failures(db: Session) -> Iterator[None]:
    """Commit even when the act is refused: failed proofs must count (the throttle) and be audited.

    Only proofs are checked before a refusal can happen, so nothing half-done is ever committed.
    """
    try:
        yield
    except BastionError:
        db.commit()
        raise


def reset_config(state: AppState) -> resets.ResetConfig:
    return resets.ResetConfig(base_url=state.settings.base_url,
                              lifetime=timedelta(minutes=state.settings.password_reset_minutes))


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=1000)
    new_password: str = Field(min_length=1, max_length=1000)
    totp_code: str | None = Field(None, max_length=20, description="Required when a second factor is enrolled.")


class Changed(BaseModel):
    status: str
    csrf_token: str


@router.post("/account/password")
def change_password(body: PasswordChange, request: Request, response: Response, db: Session = Depends(get_db),
                    principal: Principal = needs(Perm.ACCOUNT_MANAGE)) -> Changed:
    """Change your own password; your other sessions end and this one is replaced by a fresh one."""
    state = get_state(request)
    user = acting_user(db, principal.user_id)
    with keeping_failures(db):
        account.change_password(db, user, current=body.current_password, new=body.new_password, code=body.totp_code,
                                instance_secret=state.secret, client=cookies.login_client(request, state),
                                policy=state.throttle, clock=state.clock)
    new = cookies.start(db, response, state, user, mfa_passed=True, ip=cookies.login_client(request, state).ip)
    db.commit()
    return Changed(status="changed", csrf_token=new.row.csrf_token)


class OwnKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[str] | None = Field(None, description="Media and account-data scopes must be asked for by name.")
    totp_code: str = Field(min_length=1, max_length=20, description="A current code: every own key needs one.")
    expires_in_minutes: int | None = Field(None, ge=1, le=60 * 24 * 36500,
                                           description="Default: the key default (an hour at most for sensitive scopes).")


@router.get("/account/apikeys")
def own_keys(request: Request, db: Session = Depends(get_db), principal: Principal = needs(Perm.APIKEYS_OWN)
             ) -> list[KeyOut]:
    clock = get_state(request).clock
    return [KeyOut.of(key, owner, clock) for key, owner in apikeys.list_keys(db, owner_id=principal.user_id)]


@router.post("/account/apikeys", status_code=201)
def mint_own_key(body: OwnKeyCreate, request: Request, db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.APIKEYS_OWN)) -> KeyCreated:
    """Mint a key for yourself with a fresh second-factor code (the only way to media or account-data scopes)."""
    state = get_state(request)
    user = acting_user(db, principal.user_id)
    lifetime = timedelta(minutes=body.expires_in_minutes) if body.expires_in_minutes else None
    with keeping_failures(db):
        issued = account.mint_own_key(db, user, name=body.name, scopes=body.scopes, code=body.totp_code,
                                      lifetime=lifetime, instance_secret=state.secret,
                                      client=cookies.login_client(request, state), policy=state.throttle,
                                      limits=lifetimes(state), clock=state.clock)
    db.commit()
    return KeyCreated(**KeyOut.of(issued.row, user.username, state.clock).model_dump(), key=issued.secret)


@router.delete("/account/apikeys/{key_id}")
def revoke_own_key(key_id: int, request: Request, db: Session = Depends(get_db),
                   principal: Principal = needs(Perm.APIKEYS_OWN)) -> dict[str, str]:
    apikeys.revoke_key(db, key_id, actor=principal.actor, clock=get_state(request).clock, owner_id=principal.user_id)
    db.commit()
    return {"status": "revoked"}


class ResetUse(BaseModel):
    token: str = Field(min_length=1, max_length=200)
    new_password: str = Field(min_length=1, max_length=1000)
    totp_code: str | None = Field(None, max_length=20)


@router.post("/auth/password-reset", dependencies=[needs(Perm.PUBLIC)])
def use_reset_link(body: ResetUse, request: Request, db: Session = Depends(get_db)) -> dict[str, str]:
    """Set a new password with the token from a reset link (and a current code if a second factor is enrolled)."""
    state = get_state(request)
    with keeping_failures(db):
        resets.complete_reset(db, body.token, body.new_password, body.totp_code, instance_secret=state.secret,
                              client=cookies.login_client(request, state), policy=state.throttle, clock=state.clock)
    db.commit()
    return {"status": "changed"}


class Forgot(BaseModel):
    username: str = Field(min_length=1, max_length=320, description="Username or email address.")


FORGOT_ANSWER = ("If that account exists and may reset its password by mail, a link is on its way. Roles that see "
                 "media or account data need a second factor for this; otherwise ask an administrator.")


@router.post("/auth/password-forgot", status_code=202, dependencies=[needs(Perm.PUBLIC)])
def forgot_password(body: Forgot, request: Request, db: Session = Depends(get_db)) -> dict[str, str]:
    """Ask for a reset link; the answer is the same whether or not the account exists."""
    state = get_state(request)
    with keeping_failures(db):
        resets.request_self_service(db, body.username, client=cookies.login_client(request, state),
                                    policy=state.throttle, config=reset_config(state), clock=state.clock)
    db.commit()
    return {"status": "accepted", "detail": FORGOT_ANSWER}


