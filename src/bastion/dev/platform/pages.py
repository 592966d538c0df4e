"""Read-only HTML pages showing what the *public* sees on the demo platform.

They let a human (or a browser test) confirm that a takedown or suspension
took effect. They show no subscriber PII and are the only unauthenticated
routes besides ``/healthz``. Stable ``data-testid`` attributes are part of
their interface.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from bastion.dev.platform.service import DemoPlatformService, NotFound
from bastion.platform.models import Account, Content

__all__ = ["PUBLIC_PATH_PREFIXES", "build_pages_router"]

PUBLIC_PATH_PREFIXES = ("/accounts/", "/posts/")

_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#222}
.status{display:inline-block;padding:.1rem .5rem;border-radius:.3rem;background:#e6f4ea}
.status.removed,.status.suspended{background:#fde8e8}.status.limited{background:#fff4d6}
.notice{padding:1rem;border:1px solid #c33;background:#fde8e8}
img{max-width:100%;border:1px solid #ccc}li{margin:.3rem 0}
"""


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    html = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)} · Demo platform</title><style>{_STYLE}</style></head>"
        f"<body><p><a href='/'>Demo platform</a></p>{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status_code, headers=_SECURITY_HEADERS)


def _status(value: str, testid: str) -> str:
    v = escape(value)
    return f"<span class='status {v}' data-testid='{testid}'>{v}</span>"


def _post_item(post: Content) -> str:
    return (
        f"<li data-testid='post-{escape(post.content_id)}'>"
        f"<a href='/posts/{escape(post.content_id)}'>{escape(post.content_id)}</a> "
        f"{_status(post.status, 'content-status')} {escape(post.text)}</li>"
    )


def _publicly_visible(post: Content, author: Account) -> bool:
    return post.status == "visible" and author.status != "suspended"


def build_pages_router(service: DemoPlatformService) -> APIRouter:
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        items = [
            f"<li><a href='/accounts/{escape(a.account_id)}'>@{escape(a.username)}</a> "
            f"{_status(a.status, 'account-status-' + a.account_id)}</li>"
            for a in service.accounts()
        ]
        return _page("Accounts", f"<h1>Accounts</h1><ul>{''.join(items)}</ul>")

    @router.get("/accounts/{account_id}", response_class=HTMLResponse)
    def account_page(account_id: str) -> HTMLResponse:
        try:
            account = service.account(account_id)
        except NotFound:
            return _page("Not found", "<h1>Account not found</h1>", 404)
        posts = service.posts(account_id, None, None, 1000, 0).items
        notice = (
            "<p class='notice' data-testid='suspended-notice'>This account has been suspended.</p>"
            if account.status == "suspended"
            else ""
        )
        body = (
            f"<h1>{escape(account.display_name)} <small>@{escape(account.username)}</small></h1>"
            f"<p>Status: {_status(account.status, 'account-status')}</p>{notice}"
            f"<h2>Posts</h2><ul>{''.join(_post_item(p) for p in posts)}</ul>"
        )
        return _page(f"@{account.username}", body)

    @router.get("/posts/{content_id}", response_class=HTMLResponse)
    def post_page(content_id: str) -> HTMLResponse:
        try:
            post = service.content(content_id)
        except NotFound:
            return _page("Not found", "<h1>Post not found</h1>", 404)
        author = service.account(post.account_id)
        if _publicly_visible(post, author):
            image = (
                f"<p><img data-testid='post-image' alt='post image' "
                f"src='/posts/{escape(post.content_id)}/image'></p>"
                if post.media_url
                else ""
            )
            content = f"<p data-testid='post-text'>{escape(post.text)}</p>{image}"
        else:
            why = "removed" if post.status == "removed" else "from a suspended account"
            content = f"<p class='notice' data-testid='unavailable-notice'>This post is {why}.</p>"
        body = (
            f"<h1>Post {escape(post.content_id)}</h1>"
            f"<p>By <a href='/accounts/{escape(author.account_id)}'>@{escape(author.username)}</a>"
            f" · Status: {_status(post.status, 'content-status')}"
            f" · Account: {_status(author.status, 'account-status')}</p>{content}"
        )
        return _page(f"Post {post.content_id}", body)

    @router.get("/posts/{content_id}/image")
    def post_image(content_id: str) -> Response:
        try:
            post = service.content(content_id)
            data, media_type = service.media(content_id)
        except NotFound:
            return Response(status_code=404)
        if not _publicly_visible(post, service.account(post.account_id)):
            return Response(status_code=410, headers={"Cache-Control": "no-store"})
        return Response(data, media_type=media_type, headers=_SECURITY_HEADERS)

    return router
