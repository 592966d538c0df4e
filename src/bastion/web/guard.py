"""Authentication, authorisation and CSRF for every route, in one dependency.

Every route declares exactly one permission with `needs(Perm.X)`; the permission table
in `bastion.auth.permissions` says which roles hold it. The dependency also enforces
the second factor and CSRF tokens, so no route can forget them.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from bastion.auth import apikeys, sessions
from bastion.auth.errors import CsrfFailed, NotAuthenticated, SecondFactorRequired
from bastion.auth.permissions import Perm
from bastion.auth.principal import Principal
from bastion.auth.roles import Role
from bastion.errors import PermissionDenied
from bastion.web.state import client_ip, get_db, get_state

SESSION_COOKIE = "bastion_session"
ANON_CSRF_COOKIE = "bastion_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def presented_csrf_token(request: Request) -> str | None:
    """The CSRF token sent with an unsafe request: header first, then the form field.

    Async because reading a form is; Starlette caches the parsed form, so the
    endpoint's own form parameters read the same one.
    """
    if request.method in SAFE_METHODS:
        return None
    token = request.headers.get(CSRF_HEADER)
    if token:
        return token
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def authenticate(request: Request, db: Session) -> tuple[Principal | None, str | None]:
    """The caller (API key first, then session cookie) and the session's CSRF token."""
    state = get_state(request)
    key = _presented_api_key(request)
    if key:
        return apikeys.authenticate_key(db, key, ip=client_ip(request), clock=state.clock), None
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None, None
    loaded = sessions.load_session(db, token, hours=state.settings.session_hours, clock=state.clock)
    if loaded is None:
        return None, None
    row, user = loaded
    principal = Principal(
        user_id=user.id, username=user.username, role=Role(user.role), via="session",
        mfa_passed=row.mfa_passed, totp_enabled=user.totp_enabled, session_id=row.id,
    )
    return principal, row.csrf_token


def _presented_api_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def _check_csrf(request: Request, principal: Principal | None, session_csrf: str | None, presented: str | None) -> None:
    if request.method in SAFE_METHODS or (principal is not None and principal.via == "apikey"):
        return
    if principal is not None:
        expected = session_csrf
    elif request.headers.get("content-type", "").startswith(FORM_TYPES):
        expected = request.cookies.get(ANON_CSRF_COOKIE)
    else:
        return  # anonymous JSON: browsers cannot send it cross-site without a CORS preflight
    if not expected or not presented or not hmac.compare_digest(expected, presented):
        raise CsrfFailed()


def needs(perm: Perm, *, admit: Callable[[Request], bool] | None = None) -> Any:
    """Dependency that admits only callers holding `perm`; returns the `Principal` (or None if public).

    `admit` lets a read-only route also answer requests it vouches for without a login (the
    Prometheus scraper's address for /metrics); it is asked for safe methods only.
    """

    def guard(
        request: Request, db: Session = Depends(get_db), presented: str | None = Depends(presented_csrf_token)
    ) -> Principal | None:
        principal, session_csrf = authenticate(request, db)
        request.state.principal = principal
        request.state.csrf_token = session_csrf
        if admit is not None and request.method in SAFE_METHODS and admit(request):
            return principal
        if principal is None and perm is not Perm.PUBLIC:
            raise NotAuthenticated()
        _check_csrf(request, principal, session_csrf, presented)
        if perm is Perm.PUBLIC:
            return principal
        assert principal is not None
        if principal.via == "session" and not principal.mfa_passed and perm is not Perm.PRE_MFA:
            raise SecondFactorRequired(enrolled=principal.totp_enabled)
        if not principal.can(perm):
            raise PermissionDenied(f"Your role ({principal.role}) does not allow this ({perm}).")
        return principal

    guard.permission = perm  # type: ignore[attr-defined]
    return Depends(guard)


def route_permission(route: Any) -> list[Perm]:
    """The permissions a route declares through `needs` (used by the route-by-role test)."""
    found: list[Perm] = []
    stack = [getattr(route, "dependant", None)]
    while stack:
        dependant = stack.pop()
        if dependant is None:
            continue
        perm = getattr(dependant.call, "permission", None)
        if perm is not None:
            found.append(perm)
        stack.extend(dependant.dependencies)
    return found


def iter_routes(routes: list[Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Every route of an app as (full path, route), looking inside included routers.

    Recent FastAPI keeps included routers as wrapper objects (`original_router` plus an
    include context) instead of copying their routes into the app; both shapes are handled.
    """
    found: list[tuple[str, Any]] = []
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context_prefix = getattr(getattr(route, "include_context", None), "prefix", "")
            found.extend(iter_routes(inner.routes, prefix + context_prefix))
        else:
            found.append((prefix + getattr(route, "path", ""), route))
    return found
