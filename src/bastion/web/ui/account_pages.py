"""Pages for one's own account (password, own API keys), password reset links, and the admin's reset button."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from bastion.auth import account, apikeys, keylist, resets, users
from bastion.auth.errors import AccountThrottled
from bastion.auth.permissions import SENSITIVE, Perm
from bastion.auth.principal import Principal
from bastion.auth.users import acting_user
from bastion.errors import BastionError
from bastion.web import cookies
from bastion.web.api.account import FORGOT_ANSWER, reset_config
from bastion.web.api.apikeys import lifetimes
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state
from bastion.web.ui.paging import next_url
from bastion.web.ui.render import render

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store, private"}


def _refused(request: Request, db: Session, template: str, exc: BastionError, context: dict[str, object]) -> Response:
    """Keep the failed proof (throttle, audit), show the message on the same page."""
    db.commit()
    headers = {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, AccountThrottled) else None
    return render(request, template, {**context, "error": exc.message}, status_code=exc.status, headers=headers)


@router.get("/account/password")
def password_form(request: Request, db: Session = Depends(get_db),
                  principal: Principal = needs(Perm.ACCOUNT_MANAGE)) -> Response:
    return render(request, "account_password.html", {"totp": principal.totp_enabled})


@router.post("/account/password")
def password_submit(request: Request, current_password: str = Form(...), new_password: str = Form(...),
                    totp_code: str = Form(""), db: Session = Depends(get_db),
                    principal: Principal = needs(Perm.ACCOUNT_MANAGE)) -> Response:
    state = get_state(request)
    user = acting_user(db, principal.user_id)
    client = cookies.login_client(request, state)
    try:
        account.change_password(db, user, current=current_password, new=new_password, code=totp_code or None,
                                instance_secret=state.secret, client=client, policy=state.throttle, clock=state.clock)
    except BastionError as exc:
        return _refused(request, db, "account_password.html", exc, {"totp": principal.totp_enabled})
    response = render(request, "account_password.html", {"done": True, "totp": principal.totp_enabled})
    cookies.start(db, response, state, user, mfa_passed=True, ip=client.ip)
    db.commit()
    return response


def _keys_context(db: Session, principal: Principal, request: Request, q: str = "", status: str = "",
                  cursor: str = "") -> dict[str, object]:
    """One keyset page of the caller's own keys: the owner's index bounds every search."""
    from bastion.auth.permissions import grantable_scopes

    state = get_state(request)
    page = keylist.keys_page(db, state.clock, owner_id=principal.user_id, q=q, status=status, cursor=cursor or None)
    return {"keys": page.rows, "clock": state.clock, "statuses": keylist.STATUSES,
            "filters": {"q": q, "status": status}, "next_url": next_url(request, page.next_cursor),
            "status_of": apikeys.status_of, "scopes": sorted(grantable_scopes(principal.role)),
            "sensitive": sorted(SENSITIVE), "totp": principal.totp_enabled,
            "step_up_minutes": state.settings.apikey_step_up_max_minutes}


@router.get("/account/apikeys")
def own_keys_page(request: Request, db: Session = Depends(get_db), principal: Principal = needs(Perm.APIKEYS_OWN),
                  q: str = "", status: str = "", cursor: str = "") -> Response:
    """The caller's keys newest first, searchable by exact name or prefix and filterable by status."""
    return render(request, "account_apikeys.html", _keys_context(db, principal, request, q, status, cursor),
                  headers=NO_STORE)


@router.post("/account/apikeys")
def own_keys_create(request: Request, name: str = Form(...), scopes: str = Form(""), totp_code: str = Form(""),
                    minutes: int | None = Form(None), db: Session = Depends(get_db),
                    principal: Principal = needs(Perm.APIKEYS_OWN)) -> Response:
    state = get_state(request)
    user = acting_user(db, principal.user_id)
    try:
        issued = account.mint_own_key(db, user, name=name, scopes=scopes.split() or None, code=totp_code,
                                      lifetime=timedelta(minutes=minutes) if minutes else None,
                                      instance_secret=state.secret, client=cookies.login_client(request, state),
                                      policy=state.throttle, limits=lifetimes(state), clock=state.clock)
    except BastionError as exc:
        return _refused(request, db, "account_apikeys.html", exc, _keys_context(db, principal, request))
    db.commit()
    return render(request, "account_apikeys.html", {**_keys_context(db, principal, request), "new_key": issued.secret},
                  status_code=201, headers=NO_STORE)


@router.post("/account/apikeys/{key_id}/revoke")
def own_keys_revoke(request: Request, key_id: int, db: Session = Depends(get_db),
                    principal: Principal = needs(Perm.APIKEYS_OWN)) -> Response:
    apikeys.revoke_key(db, key_id, actor=principal.actor, clock=get_state(request).clock, owner_id=principal.user_id)
    db.commit()
    return RedirectResponse("/account/apikeys", status_code=303)


@router.post("/admin/users/{user_id}/reset-password")
def admin_reset(request: Request, user_id: int, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.USERS_MANAGE)) -> Response:
    """Mail the user a reset link; the admin never sees it."""
    state = get_state(request)
    user = users.get_user(db, user_id)
    try:
        resets.start_reset(db, user, actor=principal.actor, config=reset_config(state), clock=state.clock)
    except BastionError as exc:
        db.rollback()
        return RedirectResponse(f"/admin/users?error={_q(exc.message)}", status_code=303)
    db.commit()
    return RedirectResponse(f"/admin/users?notice={_q(f'A reset link was mailed to {user.email}.')}", status_code=303)


def _q(text: str) -> str:
    from urllib.parse import quote

    return quote(text)


@router.get("/password/reset", dependencies=[needs(Perm.PUBLIC)])
def reset_form(request: Request, token: str = "", db: Session = Depends(get_db)) -> Response:
    try:
        _, user = resets.pending(db, token, get_state(request).clock)
    except BastionError as exc:
        return render(request, "password_reset.html", {"invalid": exc.message}, status_code=exc.status,
                      headers=NO_STORE)
    return render(request, "password_reset.html", {"token": token, "username": user.username,
                                                   "totp": user.totp_enabled}, headers=NO_STORE)


@router.post("/password/reset", dependencies=[needs(Perm.PUBLIC)])
def reset_submit(request: Request, token: str = Form(...), new_password: str = Form(...), totp_code: str = Form(""),
                 db: Session = Depends(get_db)) -> Response:
    state = get_state(request)
    try:
        resets.complete_reset(db, token, new_password, totp_code or None, instance_secret=state.secret,
                              client=cookies.login_client(request, state), policy=state.throttle, clock=state.clock)
    except BastionError as exc:
        try:
            _, user = resets.pending(db, token, state.clock)
            context: dict[str, object] = {"token": token, "username": user.username, "totp": user.totp_enabled}
        except BastionError:
            context = {"invalid": exc.message}
        return _refused(request, db, "password_reset.html", exc, context)
    db.commit()
    return render(request, "password_reset.html", {"done": True}, headers=NO_STORE)


@router.get("/password/forgot", dependencies=[needs(Perm.PUBLIC)])
def forgot_form(request: Request) -> Response:
    return render(request, "password_forgot.html")


@router.post("/password/forgot", dependencies=[needs(Perm.PUBLIC)])
def forgot_submit(request: Request, username: str = Form(...), db: Session = Depends(get_db)) -> Response:
    state = get_state(request)
    try:
        resets.request_self_service(db, username, client=cookies.login_client(request, state), policy=state.throttle,
                                    config=reset_config(state), clock=state.clock)
    except BastionError as exc:
        return _refused(request, db, "password_forgot.html", exc, {})
    db.commit()
    return render(request, "password_forgot.html", {"sent": FORGOT_ANSWER}, status_code=202)
