"""What every keyset-paged list page shares: reading dates from a filter form, the next page's link."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import Request

from bastion.errors import InvalidInput


def parse_day(value: str, what: str) -> date | None:
    """A YYYY-MM-DD filter field; empty means no bound."""
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise InvalidInput(f"The '{what}' date must look like 2026-01-31.") from None


def next_url(request: Request, cursor: str | None, param: str = "cursor") -> str | None:
    """This page's address with the same filters and the next cursor, or None on the last page.

    `param` names the cursor's field, for a page that holds two lists paged apart (the legal
    desk's urgency queue and its search)."""
    if cursor is None:
        return None
    params = {k: v for k, v in request.query_params.items() if k != param}
    return f"{request.url.path}?{urlencode({**params, param: cursor})}"
