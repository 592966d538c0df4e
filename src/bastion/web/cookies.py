"""Starting and ending browser sessions, and the cookies that carry them (session and device)."""

from __future__ import annotations

from fastapi import Request, Response
from sqlalchemy.orm import Session

from bastion.auth import devices, sessions
from bastion.auth.login import Client
from bastion.auth.models import User
from bastion.web.guard import SESSION_COOKIE
from bastion.web.state import AppState, client_ip


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


def login_client(request: Request, state: AppState) -> Client:
    """The client of a login attempt: its address and the accounts its device cookie proves."""
    known = devices.recognised(request.cookies.get(devices.COOKIE), state.clock.now(), state.secret)
    return Client(ip=client_ip(request), devices=known)


def remember_device(request: Request, response: Response, state: AppState, user: User) -> None:
    """After a complete login: this browser is now a recognised device of `user` (see `bastion.auth.devices`)."""
    token = devices.issue(user.id, state.clock.now(), state.secret)
    value = devices.remember(request.cookies.get(devices.COOKIE), token, user.id)
    response.set_cookie(devices.COOKIE, value, httponly=True, samesite="lax", secure=state.settings.cookie_secure,
                        max_age=int(devices.LIFETIME.total_seconds()), path="/")
