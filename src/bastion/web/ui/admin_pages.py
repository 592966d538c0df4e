"""Dashboard, users, API keys, audit log and settings pages."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from bastion import audit, orgsettings
from bastion.auth import apikeys, keylist, userlist, users
from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.auth.roles import Role
from bastion.errors import BastionError
from bastion.scanning import views as scans
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state
from bastion.audit import reading as audit_reading
from bastion.audit import verified
from bastion.web.ui import chart_pages
from bastion.web.ui.paging import next_url
from bastion.web.ui.render import render

router = APIRouter(include_in_schema=False)


@router.get("/")
def dashboard(request: Request, db: Session = Depends(get_db), principal: Principal = needs(Perm.DASHBOARD)
              ) -> Response:
    context: dict[str, object] = {"org_name": orgsettings.get_value(db, "org.name")}
    if principal.can(Perm.SCAN_READ):
        totals = scans.totals(db)
        context["scan_total"], context["match_total"] = totals.scans, totals.matched
        context["recent_matches"] = scans.recent_matches(db, limit=10)
    context["charts"] = [(key, chart_pages.CHARTS[key][1].__doc__ or key) for key in chart_pages.landing_charts(principal)]
    return render(request, "dashboard.html", context)


def _users_context(request: Request, db: Session, q: str = "", role: str = "", state: str = "",
                   cursor: str = "") -> dict[str, object]:
    """One keyset page of accounts under the filters, and the link to the next."""
    page = userlist.users_page(db, q=q, role=role, state=state, cursor=cursor or None)
    return {"users": page.rows, "roles": list(Role), "states": list(userlist.STATES),
            "filters": {"q": q, "role": role, "state": state}, "next_url": next_url(request, page.next_cursor)}


@router.get("/admin/users", dependencies=[needs(Perm.USERS_MANAGE)])
def users_page(request: Request, db: Session = Depends(get_db), error: str | None = None,
               notice: str | None = None, q: str = "", role: str = "", state: str = "", cursor: str = "") -> Response:
    """Accounts by username, searchable by prefix and filterable by role and state, one page at a time."""
    return render(request, "users.html", {**_users_context(request, db, q, role, state, cursor), "error": error,
                                          "notice": notice})


@router.post("/admin/users")
def users_create(
    request: Request,
    username: str = Form(...),
    role: str = Form(...),
    password: str = Form(""),
    email: str = Form(""),
    db: Session = Depends(get_db),
    principal: Principal = needs(Perm.USERS_MANAGE),
) -> Response:
    try:
        users.create_user(db, username=username, role=users.parse_role(role), password=password or None, email=email,
                          actor=principal.actor, clock=get_state(request).clock)
    except BastionError as exc:
        db.rollback()
        return render(request, "users.html", {**_users_context(request, db),
                                              "error": exc.message}, status_code=exc.status)
    db.commit()
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/role")
def users_set_role(request: Request, user_id: int, role: str = Form(...), db: Session = Depends(get_db),
                   principal: Principal = needs(Perm.USERS_MANAGE)) -> Response:
    users.set_role(db, users.get_user(db, user_id), users.parse_role(role), actor=principal.actor,
                   clock=get_state(request).clock)
    db.commit()
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/disabled")
def users_set_disabled(request: Request, user_id: int, disabled: bool = Form(...), db: Session = Depends(get_db),
                       principal: Principal = needs(Perm.USERS_MANAGE)) -> Response:
    users.set_disabled(db, users.get_user(db, user_id), disabled, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/reset-totp")
def users_reset_totp(request: Request, user_id: int, db: Session = Depends(get_db),
                     principal: Principal = needs(Perm.USERS_MANAGE)) -> Response:
    users.reset_second_factor(db, users.get_user(db, user_id), actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return RedirectResponse("/admin/users", status_code=303)


def _keys_context(request: Request, db: Session, q: str = "", status: str = "", cursor: str = "") -> dict[str, object]:
    """One keyset page of every owner's keys under the filters; owners are typed, not picked from every user."""
    state = get_state(request)
    page = keylist.keys_page(db, state.clock, q=q, status=status, cursor=cursor or None)
    return {"keys": page.rows, "clock": state.clock, "statuses": keylist.STATUSES,
            "filters": {"q": q, "status": status}, "next_url": next_url(request, page.next_cursor),
            "status_of": apikeys.status_of, "default_days": state.settings.apikey_default_days,
            "max_days": state.settings.apikey_max_days}


@router.get("/admin/apikeys", dependencies=[needs(Perm.APIKEYS_MANAGE)])
def keys_page(request: Request, db: Session = Depends(get_db), q: str = "", status: str = "",
              cursor: str = "") -> Response:
    """Every owner's keys newest first, searchable by exact name or prefix and filterable by status."""
    return render(request, "apikeys.html", _keys_context(request, db, q, status, cursor))


@router.post("/admin/apikeys")
def keys_create(request: Request, owner: str = Form(...), name: str = Form(...), scopes: str = Form(""),
                days: int | None = Form(None), db: Session = Depends(get_db),
                principal: Principal = needs(Perm.APIKEYS_MANAGE)) -> Response:
    from datetime import timedelta

    from bastion.web.api.apikeys import lifetimes

    state = get_state(request)
    minter = apikeys.Minter(actor=principal.actor, role=principal.role, user_id=principal.user_id)
    try:
        issued = apikeys.create_key(db, users.require_user(db, owner), name=name, scopes=scopes.split() or None,
                                    minter=minter, clock=state.clock, limits=lifetimes(state),
                                    lifetime=timedelta(days=days) if days else None)
    except BastionError as exc:
        db.rollback()
        return render(request, "apikeys.html", {**_keys_context(request, db), "error": exc.message},
                      status_code=exc.status)
    db.commit()
    return render(request, "apikeys.html", {**_keys_context(request, db), "new_key": issued.secret}, status_code=201)


@router.post("/admin/apikeys/{key_id}/revoke")
def keys_revoke(request: Request, key_id: int, db: Session = Depends(get_db),
                principal: Principal = needs(Perm.APIKEYS_MANAGE)) -> Response:
    apikeys.revoke_key(db, key_id, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return RedirectResponse("/admin/apikeys", status_code=303)


@router.get("/audit", dependencies=[needs(Perm.AUDIT_READ)])
def audit_page(request: Request, actor: str = "", action: str = "", subject: str = "", cursor: str = "",
               db: Session = Depends(get_db)) -> Response:
    """The log newest first, filtered by exact actor, action and subject, paged by keyset."""
    page = audit_reading.page(db, actor=actor, action=action, subject=subject, cursor=cursor or None, limit=200)
    rows = [(r, audit.details_of(r)) for r in page.rows]
    filters = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
    return render(request, "audit.html", {"rows": rows, "chain": verified.current(db), "filters": filters,
                                          "next_url": next_url(request, page.next_cursor)})


@router.post("/audit/verify")
def audit_verify_whole(request: Request, db: Session = Depends(get_db),
                       principal: Principal = needs(Perm.AUDIT_READ)) -> Response:
    """Walk the whole chain now and keep the result (the page then walks only what follows it)."""
    verified.verify_whole(db, actor=principal.actor, clock=get_state(request).clock)
    db.commit()
    return RedirectResponse("/audit", status_code=303)


@router.get("/settings", dependencies=[needs(Perm.SETTINGS_READ)])
def settings_page(request: Request, db: Session = Depends(get_db)) -> Response:
    return render(request, "settings.html", {"values": orgsettings.list_values(db), "registry": orgsettings.REGISTRY})


@router.post("/settings")
def settings_change(request: Request, key: str = Form(...), value: list[str] = Form(...),
                    db: Session = Depends(get_db), principal: Principal = needs(Perm.SETTINGS_MANAGE)) -> Response:
    """Save one setting; the registry checks the value whatever control sent it.

    A checkbox sends nothing when unticked, so its form carries a hidden "false" before it and the last
    value sent wins.
    """
    try:
        orgsettings.set_value(db, key, value[-1], actor=principal.actor, clock=get_state(request).clock)
    except BastionError as exc:
        db.rollback()
        return render(request, "settings.html", {"values": orgsettings.list_values(db),
                                                 "registry": orgsettings.REGISTRY, "error": exc.message,
                                                 "failed_key": key}, status_code=exc.status)
    db.commit()
    return RedirectResponse("/settings", status_code=303)
