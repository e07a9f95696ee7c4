"""Browser security headers and the client cookie on every HTTP response of the app (ASGI middleware).

Streamlit's own server sends none of these, so a page on another origin could frame the app. ``serve.py``
wraps the app in :class:`SecurityMiddleware` (Streamlit's ``st.App`` with middleware); the nginx template
(``deploy/nginx.conf.template``) sends the same headers for deployments behind it.

The Content-Security-Policy allows scripts only from the app itself plus the hashes of the inline scripts of
Streamlit's ``index.html`` (computed from the installed file, so an upgrade of Streamlit keeps working), no
plugins, no framing (``frame-ancestors 'none'``), and connections only back to the app.

The middleware also sets ``scalpscope_client`` (security.client.CLIENT_COOKIE): 256 random bits in an
HttpOnly, SameSite=Lax cookie (Secure over HTTPS), without Max-Age so it ends with the browser. Scripts in
the page cannot read it and it never appears in a URL; the browser sends it with the websocket handshake,
where ``st.context.cookies`` shows it to the app, which binds a signed-in clinician (and a patient's result
page) to it.
"""
from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from functools import cache
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from security.client import CLIENT_COOKIE

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def _streamlit_index() -> Path:
    import streamlit

    return Path(streamlit.__file__).resolve().parent / "static" / "index.html"


@cache
def inline_script_hashes(index_html: Path | None = None) -> tuple[str, ...]:
    """CSP source expressions (``'sha256-…'``) for the inline scripts of Streamlit's index.html."""
    path = index_html or _streamlit_index()
    try:
        html = path.read_text(encoding="utf-8")
    except OSError:
        return ()
    return tuple(f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
                 for body in _INLINE_SCRIPT.findall(html))


def content_security_policy() -> str:
    """The app's Content-Security-Policy (see the module docstring)."""
    directives = {
        "default-src": ["'self'"],
        # 'wasm-unsafe-eval' lets the page compile WebAssembly (Streamlit's front end uses it), not run JS eval.
        "script-src": ["'self'", "'wasm-unsafe-eval'", *inline_script_hashes()],
        "style-src": ["'self'", "'unsafe-inline'"],  # Streamlit's styling library writes <style> elements
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "media-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],  # the websocket to the same host and port ('self' covers ws/wss there)
        "worker-src": ["'self'", "blob:"],
        "frame-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def security_headers(*, https: bool) -> list[tuple[str, str]]:
    """Every security header of a response; HSTS only over HTTPS (browsers ignore it on plain HTTP)."""
    headers = [
        ("Content-Security-Policy", content_security_policy()),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Permissions-Policy", "camera=(self), microphone=(), geolocation=(), payment=(), usb=()"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
    if https:
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return headers


def client_cookie_header(*, https: bool) -> str:
    """A ``Set-Cookie`` value for a fresh client secret."""
    return (f"{CLIENT_COOKIE}={secrets.token_urlsafe(32)}; Path=/; HttpOnly; SameSite=Lax"
            + ("; Secure" if https else ""))


def _has_client_cookie(scope: Scope) -> bool:
    for name, value in scope.get("headers") or []:
        if name == b"cookie":
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(value.decode("latin-1"))
            except Exception:  # noqa: BLE001 - a malformed Cookie header: treat as absent
                continue
            morsel = cookie.get(CLIENT_COOKIE)
            if morsel is not None and len(morsel.value) >= 32:
                return True
    return False


class SecurityMiddleware:
    """ASGI middleware: security headers on every HTTP response; a client cookie where the request has none.

    Names of headers the app already set are replaced, not duplicated. Websocket traffic passes unchanged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        extra = [(name.lower().encode(), value.encode()) for name, value in security_headers(https=https)]
        if not _has_client_cookie(scope):
            extra.append((b"set-cookie", client_cookie_header(https=https).encode()))
        replaced = {name for name, _ in extra if name != b"set-cookie"}

        async def send_with_headers(message: Message) -> None:
            if message.get("type") == "http.response.start":
                kept = [(n, v) for n, v in message.get("headers") or [] if n.lower() not in replaced]
                message["headers"] = kept + extra
            await send(message)

        await self.app(scope, receive, send_with_headers)
