"""Security headers on every response, in one pure ASGI middleware (it never buffers bodies).

The pages load scripts and styles only from this origin (`/static`, `/docs-assets`): no inline
script anywhere (the case page's shortcuts are `/static/case-keys.js`), no CDN. The API docs pages
are the one exception for styles: Swagger UI and ReDoc inject `<style>` elements at run time, so
those two pages allow inline styles (never inline scripts).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_BASE = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
#: Swagger UI and ReDoc: inline styles and data: images, and ReDoc's search runs in a blob: worker.
_DOCS = {**_BASE, "style-src": "'self' 'unsafe-inline'", "img-src": "'self' data:", "worker-src": "'self' blob:"}
DOCS_PATHS = ("/docs", "/redoc")


def policy(directives: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in directives.items())


PAGE_CSP, DOCS_CSP = policy(_BASE), policy(_DOCS)


class SecurityHeaders:
    """Adds CSP, frame, sniffing and referrer headers (and HSTS behind HTTPS) unless a route set its own."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app, self.hsts = app, hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        csp = DOCS_CSP if path in DOCS_PATHS else PAGE_CSP
        extra = [
            (b"content-security-policy", csp.encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if self.hsts:
            extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in extra if name not in present)
            await send(message)

        await self.app(scope, receive, send_with_headers)
