"""Who is asking: the client's address, a one-way reference to its browser session, and the cookie secret
that a signed-in session (or a patient's result page) is bound to.

Streamlit identifies a browser tab by its session id, which appears in upload URLs and is enough to
reconnect to the session: it is a bearer credential. It is therefore never stored or logged as such; the
audit trail keeps :func:`session_reference`, a truncated SHA-256 that cannot be turned back into the id.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Mapping

CLIENT_COOKIE = "scalpscope_client"  # HttpOnly, set by security.headers.SecurityMiddleware (serve.py)
_LOOPBACK_PEERS = {None, "", "127.0.0.1", "::1"}


def session_reference(session_id: str) -> str:
    """16 hex digits naming a session in the audit trail without revealing its id."""
    return hashlib.sha256(f"scalpscope-session:{session_id}".encode()).hexdigest()[:16]


def client_address(peer: str | None, headers: Mapping[str, str]) -> str:
    """The client's address: the connection's peer, or, when the peer is the local proxy (nginx on
    loopback, which overwrites ``X-Real-IP`` with the address it saw), the address the proxy reports.

    A client that connects directly cannot choose its address this way: its own peer address is used.
    """
    if peer not in _LOOPBACK_PEERS:
        return str(peer)
    lowered = {key.lower(): value for key, value in headers.items()}
    forwarded = (lowered.get("x-real-ip") or "").strip()
    try:
        return str(ipaddress.ip_address(forwarded))
    except ValueError:
        return "127.0.0.1"


def binding_of(secret: str | None) -> str | None:
    """What a session stores to recognise its browser: a hash of the cookie secret (never the secret)."""
    if not secret:
        return None
    return hashlib.sha256(f"scalpscope-binding:{secret}".encode()).hexdigest()


def same_browser(stored: str | None, secret: str | None) -> bool:
    """True when ``secret`` is the cookie the session was bound to (constant-time comparison)."""
    current = binding_of(secret)
    return stored is not None and current is not None and hmac.compare_digest(stored, current)


def fingerprint(user_agent: str | None, address: str | None) -> str:
    """What else a remembered sign-in is bound to besides the cookie: the browser's user agent and address
    (a hash). A cookie copied into another program or onto another machine then opens nothing."""
    return hashlib.sha256(f"scalpscope-client:{user_agent or ''}\n{address or ''}".encode()).hexdigest()
