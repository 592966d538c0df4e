"""The hash exchanges page: each exchange's status (last success, items added, updated and deleted, errors, the
next run) for those who oversee detection; adding one, "fetch now", pause, resume, new credentials, what is shared
back, and delete for admins; the contributions to exchanges, which leads and admins approve or refuse when a second
person must. Credentials are typed into password fields and never shown again."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.errors import InvalidInput
from bastion.auth.models import User
from bastion.exchanges import listing, service, sharing
from bastion.exchanges.tasks import POLICY_SERVICE
from bastion.exchanges.types import TYPES
from bastion.web.guard import needs
from bastion.web.state import get_db, get_state
from bastion.web.ui.acts import act_and_return
from bastion.web.ui.paging import next_url
from bastion.web.ui.render import render

router = APIRouter(include_in_schema=False)
PAGE = "/exchanges"
NO_STORE = {"Cache-Control": "no-store, private"}


def _settings(text: str) -> dict[str, str]:
    """`key=value` lines (or `;`-separated pairs) as a dict."""
    found: dict[str, str] = {}
    for part in text.replace(";", "\n").splitlines():
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise InvalidInput(f"Settings are key=value lines; {part.strip()[:60]!r} is not one.")
        found[key.strip()] = value.strip()
    return found


def _credentials(user: str, password: str, token: str, keys: str = "") -> dict[str, str]:
    """The form's fields; `keys` carries named keys as `name=value; name=value` (StopNCII's three keys)."""
    found = {k: v for k, v in (("user", user), ("password", password), ("token", token)) if v}
    return {**found, **_settings(keys)} if keys.strip() else found


@router.get(PAGE)
def exchanges_page(request: Request, db: Session = Depends(get_db),
                   principal: Principal = needs(Perm.EXCHANGES_READ)) -> Response:
    args = request.query_params
    found = {"q": args.get("q", ""), "state": args.get("state", "")}
    try:
        listed, refused = listing.exchanges_page(db, name=found["q"], state=found["state"],
                                                 cursor=args.get("after") or None), None
    except InvalidInput as exc:
        listed, refused = listing.exchanges_page(db), exc.message
    views = [service.view(db, e) for e in listed.rows]
    shown = {"exchange": args.get("exchange", ""), "status": args.get("status", "")}
    try:
        shared = sharing.contributions(db, exchange=shown["exchange"].upper(), status=shown["status"],
                                       cursor=args.get("cursor"))
        error = args.get("error")
    except InvalidInput as exc:
        shared, error = sharing.contributions(db), exc.message
    ids = {c.proposer_id for c in shared.rows if c.proposer_id is not None}
    names = dict(db.execute(select(User.id, User.username).where(User.id.in_(ids))).all()) if ids else {}
    return render(request, "exchanges.html", {"exchanges": views, "types": TYPES, "accepts": sharing.ACCEPTS,
                                              "contributions": shared.rows, "proposers": names, "filters": shown,
                                              "statuses": sharing.STATUSES,
                                              "next_url": next_url(request, shared.next_cursor),
                                              "found": found, "states": listing.STATE_TITLES,
                                              "search_error": refused,
                                              "exchanges_next": next_url(request, listed.next_cursor, "after"),
                                              "error": error}, headers=NO_STORE,
                  status_code=200 if refused is None else 422)


@router.post(PAGE)
def exchanges_add(request: Request, name: str = Form(...), api: str = Form(...), banks: str = Form(...),
                  settings: str = Form(""), user: str = Form(""), password: str = Form(""), token: str = Form(""),
                  keys: str = Form(""),
                  fetch_every_minutes: int = Form(60), db: Session = Depends(get_db),
                  principal: Principal = needs(Perm.EXCHANGES_MANAGE)) -> Response:
    state = get_state(request)
    return act_and_return(db, lambda: service.add_exchange(
        db, name=name.strip(), api=api, settings=_settings(settings),
        bank_names=[b.strip() for b in banks.split(",") if b.strip()], credentials=_credentials(user, password, token, keys),
        fetch_every_minutes=fetch_every_minutes, actor=principal.actor, clock=state.clock, secret=state.secret,
        policy=state.services[POLICY_SERVICE], create_banks=True), PAGE)


@router.post(PAGE + "/{name}/fetch")
def exchanges_fetch(name: str, request: Request, db: Session = Depends(get_db),
                    principal: Principal = needs(Perm.EXCHANGES_MANAGE)) -> Response:
    clock = get_state(request).clock
    return act_and_return(db, lambda: service.request_fetch(db, service.get_exchange(db, name), actor=principal.actor,
                                                            clock=clock), PAGE)


@router.post(PAGE + "/{name}/paused")
def exchanges_pause(name: str, request: Request, paused: bool = Form(...), db: Session = Depends(get_db),
                    principal: Principal = needs(Perm.EXCHANGES_MANAGE)) -> Response:
    clock = get_state(request).clock
    return act_and_return(db, lambda: service.set_paused(db, service.get_exchange(db, name), paused,
                                                         actor=principal.actor, clock=clock), PAGE)


@router.post(PAGE + "/{name}/credentials")
def exchanges_credentials(name: str, request: Request, user: str = Form(""), password: str = Form(""),
                          token: str = Form(""), keys: str = Form(""), db: Session = Depends(get_db),
                          principal: Principal = needs(Perm.EXCHANGES_MANAGE)) -> Response:
    state = get_state(request)
    return act_and_return(db, lambda: service.set_credentials(
        db, service.get_exchange(db, name), _credentials(user, password, token, keys), actor=principal.actor,
        clock=state.clock, secret=state.secret), PAGE)


@router.post(PAGE + "/{name}/delete")
def exchanges_delete(name: str, request: Request, db: Session = Depends(get_db),
                     principal: Principal = needs(Perm.EXCHANGES_MANAGE)) -> Response:
    clock = get_state(request).clock
    return act_and_return(db, lambda: service.delete_exchange(db, service.get_exchange(db, name),
                                                              actor=principal.actor, clock=clock), PAGE)


@router.post(PAGE + "/{name}/sharing")
def exchanges_sharing(name: str, request: Request, confirmed: bool = Form(False), false_positive: bool = Form(False),
                      new_material: bool = Form(False), second_approver: bool = Form(False),
                      db: Session = Depends(get_db), principal: Principal = needs(Perm.EXCHANGES_MANAGE)) -> Response:
    clock = get_state(request).clock
    choice = sharing.Sharing(confirmed, false_positive, new_material, second_approver)
    return act_and_return(db, lambda: sharing.set_sharing(db, service.get_exchange(db, name), choice,
                                                          actor=principal.actor, clock=clock), PAGE)


@router.post(PAGE + "/contributions/{contribution_id}/approve")
def contribution_approve(contribution_id: int, request: Request, db: Session = Depends(get_db),
                         principal: Principal = needs(Perm.EXCHANGES_APPROVE)) -> Response:
    clock = get_state(request).clock
    return act_and_return(db, lambda: sharing.approve(db, contribution_id, approver_id=principal.user_id,
                                                      actor=principal.actor, clock=clock), PAGE)


@router.post(PAGE + "/contributions/{contribution_id}/refuse")
def contribution_refuse(contribution_id: int, request: Request, reason: str = Form(""), db: Session = Depends(get_db),
                        principal: Principal = needs(Perm.EXCHANGES_APPROVE)) -> Response:
    clock = get_state(request).clock
    return act_and_return(db, lambda: sharing.refuse(db, contribution_id, approver_id=principal.user_id,
                                                     actor=principal.actor, reason=reason, clock=clock), PAGE)
