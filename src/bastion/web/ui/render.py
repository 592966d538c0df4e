"""Rendering templates with the context every page needs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from bastion.auth.permissions import Perm
from bastion.legal.titles import title_of
from bastion.web.guard import ANON_CSRF_COOKIE
from bastion.web.ui.times import when

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.filters["title_of"] = title_of  # titles, not stored keys, on every page
TEMPLATES.env.filters["sentence"] = lambda text: str(text)[:1].upper() + str(text)[1:]  # "FIR" stays "FIR"
TEMPLATES.env.filters["from_json"] = json.loads
TEMPLATES.env.filters["category_title"] = lambda key, titles: titles.get(key, key)
TEMPLATES.env.filters["when"] = when  # times in the viewer's zone (see times.py)


def csrf_token_for(request: Request) -> str:
    """The token forms must echo: the session's, or before login the anonymous cookie's."""
    token = getattr(request.state, "csrf_token", None)
    return token or getattr(request.state, "anon_csrf", None) or request.cookies.get(ANON_CSRF_COOKIE, "")


def render(request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200,
           headers: dict[str, str] | None = None) -> HTMLResponse:
    principal = getattr(request.state, "principal", None)
    full = {
        "principal": principal,
        "csrf_token": csrf_token_for(request),
        "can": (lambda perm: principal is not None and principal.mfa_passed and principal.can(Perm(perm))),
        **(context or {}),
    }
    return TEMPLATES.TemplateResponse(request, template, full, status_code=status_code, headers=headers)
