"""JSON login for scripts and tests; browsers use the HTML login page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from bastion.auth import login
from bastion.auth.errors import SecondFactorRequired
from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.web import cookies
from bastion.web.guard import SESSION_COOKIE, needs
from bastion.web.state import get_db, get_state

router = APIRouter(prefix="/api/v1", tags=["auth"])


class LoginBody(BaseModel):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1000)
    totp_code: str | None = Field(None, description="Required for roles with a second factor.")


class Me(BaseModel):
    username: str
    role: str
    via: str
    csrf_token: str | None = None


@router.post("/auth/login", dependencies=[needs(Perm.PUBLIC)])
def api_login(body: LoginBody, request: Request, response: Response, db: Session = Depends(get_db)) -> Me:
    """Log in with password (and TOTP code where required); sets the session and device cookies."""
    state = get_state(request)
    client = cookies.login_client(request, state)
    try:
        user = login.authenticate_password(db, body.username, body.password, client=client, policy=state.throttle,
                                           clock=state.clock)
        if login.second_factor_needed(user):
            if not user.totp_enabled or not body.totp_code:
                raise SecondFactorRequired(enrolled=user.totp_enabled)
            login.verify_second_factor(db, user, body.totp_code, instance_secret=state.secret, client=client,
                                       policy=state.throttle, clock=state.clock)
        else:
            login.complete_without_second_factor(db, user, client=client, clock=state.clock)
    finally:
        db.commit()  # failed attempts and throttling must persist even when login is refused
    new = cookies.start(db, response, state, user, mfa_passed=True, ip=client.ip)
    cookies.remember_device(request, response, state, user)
    db.commit()
    return Me(username=user.username, role=user.role, via="session", csrf_token=new.row.csrf_token)


@router.post("/auth/logout", dependencies=[needs(Perm.PRE_MFA)])
def api_logout(request: Request, response: Response, db: Session = Depends(get_db)) -> dict[str, str]:
    cookies.end(db, request, response)
    db.commit()
    return {"status": "logged_out"}


@router.get("/me")
def me(request: Request, principal: Principal = needs(Perm.SELF)) -> Me:
    return Me(username=principal.username, role=principal.role, via=principal.via,
              csrf_token=getattr(request.state, "csrf_token", None))


__all__ = ["router", "SESSION_COOKIE"]
