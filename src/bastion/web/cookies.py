"""Starting and ending browser sessions, and the cookies that carry them."""

from __future__ import annotations

from fastapi import Request, Response
from sqlalchemy.orm import Session

from bastion.auth import sessions
from bastion.auth.models import User
from bastion.web.guard import SESSION_COOKIE
from bastion.web.state import AppState


def start(db: Session, response: Response, state: AppState, user: User, *, mfa_passed: bool, ip: str
          ) -> sessions.NewSession:
    """A fresh session (never a reused one: the token changes at every privilege step)."""
    new = sessions.start_session(db, user, mfa_passed=mfa_passed, ip=ip, hours=state.settings.session_hours,
                                 clock=state.clock)
    response.set_cookie(
        SESSION_COOKIE, new.token, httponly=True, samesite="lax", secure=state.settings.cookie_secure,
        max_age=state.settings.session_hours * 3600, path="/",
    )
    return new


def end(db: Session, request: Request, response: Response) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        sessions.end_session(db, token)
    response.delete_cookie(SESSION_COOKIE, path="/")
