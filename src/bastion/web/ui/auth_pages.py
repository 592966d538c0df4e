"""Login, second factor, enrolment and logout pages."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from bastion import audit
from bastion.auth import login, totp
from bastion.auth.errors import AccountThrottled, InvalidCredentials, InvalidSecondFactor
from bastion.auth.models import User
from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.auth.roles import Role
from bastion.web import cookies
from bastion.web.guard import needs
from bastion.web.state import client_ip, get_db, get_state
from bastion.web.ui.render import render

router = APIRouter(include_in_schema=False)


def _safe_next(value: str | None, role: str = "") -> str:
    """Only same-site paths: an open redirect after login is a phishing tool."""
    if value and value.startswith("/") and not value.startswith("//") and value != "/":
        return value
    return home_for(role)


def home_for(role: str) -> str:
    """Where a role lands after logging in: officers have their own portal."""
    return "/portal" if role == Role.OFFICER.value else "/"


@router.get("/login", dependencies=[needs(Perm.PUBLIC)])
def login_form(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": _safe_next(next)})


@router.post("/login", dependencies=[needs(Perm.PUBLIC)])
def login_submit(
    request: Request,
    username: str = Form(...),
    password: str = Form(...),
    next: str = Form("/"),
    db: Session = Depends(get_db),
) -> Response:
    state = get_state(request)
    client = cookies.login_client(request, state)
    try:
        user = login.authenticate_password(db, username, password, client=client, policy=state.throttle,
                                           clock=state.clock)
    except (InvalidCredentials, AccountThrottled) as exc:
        db.commit()
        headers = {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, AccountThrottled) else None
        return render(request, "login.html", {"error": exc.message, "next": _safe_next(next), "username": username},
                      status_code=exc.status, headers=headers)
    needs_factor = login.second_factor_needed(user)
    if not needs_factor:
        login.complete_without_second_factor(db, user, client=client, clock=state.clock)
    target = _safe_next(next, user.role) if not needs_factor else ("/login/totp" if user.totp_enabled else "/account/totp")
    response = RedirectResponse(target, status_code=303)
    cookies.start(db, response, state, user, mfa_passed=not needs_factor, ip=client.ip)
    if not needs_factor:
        cookies.remember_device(request, response, state, user)
    db.commit()
    return response


@router.get("/login/totp")
def totp_form(request: Request, principal: Principal = needs(Perm.PRE_MFA)) -> Response:
    if principal.mfa_passed:
        return RedirectResponse("/", status_code=303)
    if not principal.totp_enabled:
        return RedirectResponse("/account/totp", status_code=303)
    return render(request, "totp.html")


@router.post("/login/totp")
def totp_submit(request: Request, code: str = Form(...), db: Session = Depends(get_db),
                principal: Principal = needs(Perm.PRE_MFA)) -> Response:
    state = get_state(request)
    user = db.get(User, principal.user_id)
    assert user is not None
    try:
        login.verify_second_factor(db, user, code, instance_secret=state.secret,
                                   client=cookies.login_client(request, state), policy=state.throttle,
                                   clock=state.clock)
    except (InvalidSecondFactor, AccountThrottled) as exc:
        db.commit()
        headers = {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, AccountThrottled) else None
        return render(request, "totp.html", {"error": exc.message}, status_code=exc.status, headers=headers)
    return _promote(request, db, user)


@router.get("/account/totp")
def enrol_form(request: Request, db: Session = Depends(get_db), principal: Principal = needs(Perm.PRE_MFA)) -> Response:
    if principal.totp_enabled:
        # Re-enrolling would let someone holding only the password replace the factor.
        return RedirectResponse("/" if principal.mfa_passed else "/login/totp", status_code=303)
    state = get_state(request)
    user = db.get(User, principal.user_id)
    assert user is not None
    if not user.totp_secret:
        user.totp_secret = totp.encrypt_secret(totp.new_secret(), state.secret)
        db.commit()
    secret = totp.decrypt_secret(user.totp_secret, state.secret)
    uri = totp.provisioning_uri(secret, user.username)
    return render(request, "enrol.html", {"secret": secret, "uri": uri, "qr_svg": totp.qr_svg(uri)})


@router.post("/account/totp")
def enrol_submit(request: Request, code: str = Form(...), db: Session = Depends(get_db),
                 principal: Principal = needs(Perm.PRE_MFA)) -> Response:
    if principal.totp_enabled:
        return RedirectResponse("/", status_code=303)
    state = get_state(request)
    user = db.get(User, principal.user_id)
    assert user is not None
    try:
        login.verify_second_factor(db, user, code, instance_secret=state.secret,
                                   client=cookies.login_client(request, state), policy=state.throttle,
                                   clock=state.clock)
    except (InvalidSecondFactor, AccountThrottled) as exc:
        db.commit()
        return RedirectResponse(f"/account/totp?error={exc.code}", status_code=303)
    user.totp_enabled = True
    audit.record(db, actor=user.username, action="auth.totp_enrolled", subject=f"user:{user.id}", clock=state.clock)
    return _promote(request, db, user)


def _promote(request: Request, db: Session, user: User) -> Response:
    """Replace the password-only session with a fully authenticated one (a new token)."""
    state = get_state(request)
    response = RedirectResponse(home_for(user.role), status_code=303)
    cookies.end(db, request, response)
    cookies.start(db, response, state, user, mfa_passed=True, ip=client_ip(request))
    cookies.remember_device(request, response, state, user)
    db.commit()
    return response


@router.post("/logout", dependencies=[needs(Perm.PRE_MFA)])
def logout(request: Request, db: Session = Depends(get_db)) -> Response:
    response = RedirectResponse("/login", status_code=303)
    cookies.end(db, request, response)
    db.commit()
    return response
