"""Kind 6 without a server: the policy, the ASGI middleware, the rendered nginx config and the binding
settings. The same headers on real responses (direct and through nginx) are checked in test_live.py."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import tomllib

import pytest

from deploy.render_nginx import render
from security.client import CLIENT_COOKIE
from security.headers import SecurityMiddleware, _streamlit_index, content_security_policy
from tests.conftest import REPO_ROOT


def directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


def test_policy_forbids_framing_plugins_and_foreign_scripts() -> None:
    policy = directives(content_security_policy())
    assert policy["frame-ancestors"] == ["'none'"] and policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["connect-src"] == ["'self'"] and policy["default-src"] == ["'self'"]
    html = _streamlit_index().read_text(encoding="utf-8")
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", html, re.S)
    assert inline, "Streamlit's index.html has an inline script; the policy must allow exactly it"
    for body in inline:
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"]


def run(middleware: SecurityMiddleware, scope: dict) -> list[tuple[bytes, bytes]]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    return sent[0]["headers"] if sent else []


async def app(scope, receive, send) -> None:
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"x-frame-options", b"SAMEORIGIN"), (b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"ok"})


def test_middleware_sets_headers_once_and_the_cookie_when_missing() -> None:
    middleware = SecurityMiddleware(app)
    headers = run(middleware, {"type": "http", "scheme": "http", "headers": []})
    names = [name for name, _ in headers]
    assert names.count(b"x-frame-options") == 1 and dict(headers)[b"x-frame-options"] == b"DENY"
    assert b"strict-transport-security" not in names
    cookie = dict(headers)[b"set-cookie"].decode()
    assert cookie.startswith(CLIENT_COOKIE + "=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    present = [(b"cookie", f"{CLIENT_COOKIE}={'k' * 43}".encode())]
    again = run(middleware, {"type": "http", "scheme": "http", "headers": present})
    assert b"set-cookie" not in [name for name, _ in again]  # a browser keeps its cookie
    secure = dict(run(middleware, {"type": "http", "scheme": "https", "headers": []}))
    assert b"max-age=" in secure[b"strict-transport-security"] and b"Secure" in secure[b"set-cookie"]


def test_middleware_leaves_websockets_alone() -> None:
    seen = []

    async def websocket_app(scope, receive, send) -> None:
        seen.append(scope["type"])

    asyncio.run(SecurityMiddleware(websocket_app)({"type": "websocket", "headers": []}, None, None))
    assert seen == ["websocket"]


def test_nginx_config_sends_headers_and_hides_upstreams_by_default() -> None:
    text = render("/tmp/p", "127.0.0.1:8080", [8501, 8502])
    for header in ("Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy",
                   "Permissions-Policy"):
        assert re.search(rf'add_header {header} ".+" always;', text), header
        assert f"proxy_hide_header {header};" in text  # the app's copy is replaced, never sent twice
    assert "frame-ancestors 'none'" in text and content_security_policy() in text
    assert "add_header X-ScalpScope-Upstream" not in text  # it names internal addresses
    assert "Strict-Transport-Security" not in text.replace("proxy_hide_header Strict-Transport-Security;", "")
    assert "access_log /tmp/p/logs/access.log scalpscope;" in text
    assert "add_header X-ScalpScope-Upstream" in render("/tmp/p", "127.0.0.1:8080", [8501], expose_upstream=True)


def test_nginx_tls_block_has_hsts_and_the_plain_address_redirects() -> None:
    text = render("/tmp/p", "0.0.0.0:80", [8501], tls_cert="/etc/tls/fullchain.pem", tls_key="/etc/tls/key.pem",
                  tls_listen="0.0.0.0:443")
    assert "listen 0.0.0.0:443 ssl;" in text and "ssl_certificate /etc/tls/fullchain.pem;" in text
    assert 'add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;' in text
    assert re.search(r"listen 0\.0\.0\.0:80;\s+server_name _;\s+return 301 https://\$host\$request_uri;", text)
    with pytest.raises(ValueError):
        render("/tmp/p", "0.0.0.0:80", [8501], tls_cert="/etc/tls/fullchain.pem")


def test_the_app_binds_to_loopback_unless_asked() -> None:
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "127.0.0.1"
    launcher = (REPO_ROOT / "scalpscope").read_text(encoding="utf-8")
    assert 'streamlit run serve.py --server.address "${SCALPSCOPE_ADDRESS:-127.0.0.1}"' in launcher
    assert "APP=serve.py" in (REPO_ROOT / "deploy" / "run_cluster.sh").read_text(encoding="utf-8")
