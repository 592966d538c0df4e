"""How every keyset-paged JSON list says where the next page starts.

The list itself stays a plain JSON array (clients written for the unpaged lists keep working);
the next page's cursor travels in the `X-Next-Cursor` header and an RFC 8288 `Link: rel="next"`,
as GitHub's API does. Both are absent on the last page.
"""

from __future__ import annotations

from fastapi import Request, Response


def link_next(request: Request, response: Response, cursor: str | None, *, drop: tuple[str, ...] = ()) -> None:
    """Point at the next page: this request's address with `cursor` set (and `drop`ped parameters removed)."""
    if cursor is None:
        return
    following = request.url.remove_query_params(drop) if drop else request.url
    response.headers["X-Next-Cursor"] = cursor
    response.headers["Link"] = f'<{following.include_query_params(cursor=cursor)}>; rel="next"'
