"""A ``streamlit run serve.py`` server for the live security tests, and a raw Streamlit websocket client.

:class:`RawClient` speaks Streamlit's websocket protocol the way the browser's front end does: it takes the
XSRF cookie from an HTTP response of the app, sends the cookie's value as the second
``Sec-WebSocket-Protocol`` entry and, to resume a session, the session id as the third; then it sends
``BackMsg``s (``rerun_script``, ``clear_cache``) and reads ``ForwardMsg``s.
"""
from __future__ import annotations

import http.cookiejar
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.sync.client import connect

from testing.live import LiveServer, live_server


Server = LiveServer  # url, port, log_path, process and log()


@contextmanager
def serve(env: Mapping[str, str], log_name: str, extra_args: Sequence[str] = ()) -> Iterator[LiveServer]:
    """:func:`testing.live.live_server` *without* ``--server.address`` unless given in ``extra_args`` (the
    config's default is what is tested); stopped (then killed) on exit."""
    with live_server(env, log_name=log_name, address=None, extra_args=extra_args) as server:
        yield server


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            address, hex_port = parts[1].split(":")
            if int(hex_port, 16) == port and parts[3] == "0A":  # LISTEN
                if width == 8:
                    found.add(".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0)))
                else:
                    found.add("::" if set(address) == {"0"} else address)
    return found


def app_cookies(base_url: str) -> dict[str, str]:
    """The cookies the app hands a new client (XSRF, and the client cookie through serve.py)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{base_url}/_stcore/health", timeout=10).read()
    return {cookie.name: cookie.value for cookie in jar}


class RawClient:
    """One websocket to the app, as a browser (or an attacker copying a browser) opens it."""

    def __init__(self, base_url: str, *, resume: str | None = None, cookies: Mapping[str, str] | None = None) -> None:
        own = app_cookies(base_url)
        if cookies is not None:  # the caller decides which of the app's cookies this client shows
            own = {"_streamlit_xsrf": own["_streamlit_xsrf"], **cookies}
        self.cookies = own
        protocols = ["streamlit", own["_streamlit_xsrf"]] + ([resume] if resume else [])
        self._connection = connect(
            f"{base_url.replace('http', 'ws', 1)}/_stcore/stream", subprotocols=protocols, origin=base_url,
            additional_headers={"Cookie": "; ".join(f"{k}={v}" for k, v in own.items())}, max_size=None,
            open_timeout=20)
        self.ws = self._connection.__enter__()
        self.session_id: str | None = None

    def send(self, message: BackMsg) -> None:
        self.ws.send(message.SerializeToString())

    def rerun(self, page_name: str = "") -> list[ForwardMsg]:
        """Run the app on ``page_name`` (as a page load does) and return every message until the run ends."""
        self.send(BackMsg(rerun_script=ClientState(page_name=page_name, query_string="")))
        return self.read_until_finished()

    def read_until_finished(self, timeout_s: float = 60) -> list[ForwardMsg]:
        messages, deadline = [], time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            message = ForwardMsg()
            message.ParseFromString(self.ws.recv(timeout=deadline - time.monotonic()))
            messages.append(message)
            if message.HasField("new_session"):
                self.session_id = message.new_session.initialize.session_id
            if message.HasField("script_finished"):
                return messages
        raise TimeoutError("the script run did not finish")

    def close(self) -> None:
        self._connection.__exit__(None, None, None)


def text_of(messages: Sequence[ForwardMsg]) -> str:
    """Everything the server sent, as protobuf text (element bodies, titles, widget labels)."""
    return "\n".join(str(message) for message in messages)
