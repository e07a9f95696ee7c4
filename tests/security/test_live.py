"""Kinds 1, 3 and 6 against a real server (``streamlit run serve.py``), a real browser and nginx.

* 6: every response carries the security headers and the HttpOnly client cookie; the server listens on
  loopback only by default; a page on another origin cannot frame the app; nginx (the deploy template)
  sends the headers once, hides its upstreams, keeps session ids out of its access log, and with a
  certificate serves HTTPS with HSTS.
* 1: patient text and study names render as the typed characters in Chromium: no link, no image, no request.
* 3: a copied session id, used over a raw websocket the way the browser's front end uses it, opens neither a
  clinician's queue nor a closed tab's access code; a signed-out session id cannot be resumed at all; no
  session id reaches the server's log.

Marked ``browser`` and ``slow``; skipped without /usr/bin/chromium (nginx tests: without nginx) unless
``SCALPSCOPE_REQUIRE_BROWSER=1``.
"""
from __future__ import annotations

import http.server
import io
import re
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from db.audit import list_events
from db.consultations import NewImage, submit_consultation
from db.engine import Database
from db.reader_study import create_study
from db.users import create_user
from deploy.render_nginx import write as write_nginx
from security.client import CLIENT_COOKIE
from tests.app.browser import CLINICIAN_ENTRY, STEP_TIMEOUT_MS, free_port, give_consent, launch_chromium, nav, \
    require_chromium, sign_in
from tests.db.builders import model_output
from tests.deploy.cluster import nginx_binary
from tests.factories import image_bytes, photo_array
from tests.reader.builders import new_cases
from tests.security.live import RawClient, app_cookies, listening_addresses, serve, text_of
from tests.security.payloads import PAYLOADS, TRAP

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]

ADMIN, PASSWORD = "sec-admin", "security-test-password-17"
SECURITY_HEADERS = ("content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy",
                    "permissions-policy")
CODE = re.compile(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){6}")


@dataclass
class Live:
    url: str
    port: int
    database: Database
    public_id: str
    server: object

    def log(self) -> str:
        return self.server.log()


@pytest.fixture(scope="module")
def live(tmp_path_factory, tiny_checkpoint) -> Iterator[Live]:
    require_chromium()
    folder = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{folder / 'live.db'}"
    database = Database.from_url(url)
    database.migrate()
    picture = io.BytesIO()
    Image.fromarray(photo_array(64, 48)).save(picture, format="JPEG")
    with database.begin() as s:
        admin = create_user(s, ADMIN, PASSWORD, "admin")
        consultation, _ = submit_consultation(
            s, {"image_source": "phone", "previous_treatment": PAYLOADS[2], "free_text": PAYLOADS[1]}, "2026-11",
            [NewImage(picture.getvalue(), "image/jpeg", 64, 48)],
            [model_output("seed-1", "0" * 64, 0.7, 0.5, 1.0, "psoriasis", False, False, 3.0)])
        public_id = consultation.public_id
        create_study(s, admin, PAYLOADS[0], new_cases(["psoriasis", "seborrheic_dermatitis"]), [admin.id],
                     source="folder", model_version="m", model_sha256="0" * 64, threshold=0.5, seed=1)
    env = {"DATABASE_URL": url, "SCALPSCOPE_WEIGHTS": str(tiny_checkpoint), "SCALPSCOPE_DEVICE": "cpu",
           "SCALPSCOPE_BACKEND": "torch", "SCALPSCOPE_STUDY_ROOT": str(folder)}
    with serve(env, "security-live-server.log") as server:
        yield Live(server.url, server.port, database, public_id, server)
    database.dispose()


@pytest.fixture(scope="module")
def browser(live):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=STEP_TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


class Tab:
    """A page in a fresh browser context that records its session ids, requests and console errors."""

    def __init__(self, browser) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.page.set_default_timeout(STEP_TIMEOUT_MS)
        self.session_ids: list[str] = []
        self.requests: list[str] = []
        self.console: list[str] = []

        def frames(ws) -> None:
            def received(payload) -> None:
                if isinstance(payload, bytes):
                    message = ForwardMsg()
                    message.ParseFromString(payload)
                    if message.HasField("new_session"):
                        self.session_ids.append(message.new_session.initialize.session_id)
            ws.on("framereceived", received)

        self.page.on("websocket", frames)
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)

    def close(self) -> None:
        self.context.close()


def get(url: str, method: str = "GET", context: ssl.SSLContext | None = None):
    request = urllib.request.Request(url, method=method, data=b"x" if method == "PUT" else None)
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                         NoRedirect())
    try:
        with opener.open(request, timeout=20) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def assert_security_headers(headers, *, https: bool = False) -> None:
    for name in SECURITY_HEADERS:
        assert len(headers.get_all(name) or []) == 1, (name, headers.get_all(name))
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert (headers.get("strict-transport-security") is not None) == https


# --- kind 6: headers, binding, framing ------------------------------------------------------------------
def test_every_response_carries_the_security_headers_and_cookie(live) -> None:
    for path in ("/", "/queue", "/_stcore/health", "/_stcore/host-config"):
        status, headers = get(live.url + path)
        assert status == 200, path
        assert_security_headers(headers)
        cookie = next(c for c in headers.get_all("set-cookie") if c.startswith(CLIENT_COOKIE + "="))
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and len(cookie.split(";")[0]) > 40


def test_the_server_listens_on_loopback_only(live) -> None:
    assert listening_addresses(live.port) == {"127.0.0.1"}


def test_a_page_on_another_origin_cannot_frame_the_app(live, browser, tmp_path) -> None:
    (tmp_path / "frame.html").write_text(f'<html><body><iframe id="f" src="{live.url}/"></iframe></body></html>')

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, *args) -> None:
            pass

    other = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Quiet)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    tab = Tab(browser)
    try:
        tab.page.goto(f"http://127.0.0.1:{other.server_address[1]}/frame.html")
        tab.page.wait_for_timeout(3000)
        framed = [f for f in tab.page.frames if f != tab.page.main_frame]
        assert framed and all(f.locator('[data-testid="stApp"]').count() == 0 for f in framed)
        assert any("frame-ancestors" in line or "X-Frame-Options" in line for line in tab.console), tab.console
    finally:
        tab.close()
        other.shutdown()


# --- kind 1 in a real browser -------------------------------------------------------------------------------
def assert_rendered_as_typed(tab: Tab, *typed: str) -> None:
    """The page shows each text character for character; nothing on it links to, shows or loads the trap."""
    page = tab.page
    page.wait_for_timeout(500)
    shown = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').innerText").replace("\u2060", "")
    for text in typed:
        assert text in shown, f"{text!r} not in {shown[max(0, shown.find(text[:6]) - 200):][:600]!r}"
    for selector, attribute in (("a", "href"), ("img", "src")):
        targets = page.eval_on_selector_all(selector, f"els => els.map(e => e.getAttribute('{attribute}') || '')")
        assert not [t for t in targets if TRAP in t], (selector, targets)
    assert not [url for url in tab.requests if TRAP in url]
    assert not [line for line in tab.console if "Content Security Policy" in line], tab.console


def test_patient_text_and_study_names_render_as_typed(live, browser) -> None:
    from playwright.sync_api import expect

    tab = Tab(browser)
    page = tab.page
    try:
        page.goto(live.url)
        nav(page, CLINICIAN_ENTRY)
        sign_in(page, ADMIN, PASSWORD)
        expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
        page.get_by_role("button", name="Review next").click()
        expect(page.get_by_role("heading", name=f"Consultation {live.public_id}")).to_be_visible()
        assert_rendered_as_typed(tab, PAYLOADS[2], PAYLOADS[1])  # history table (Markdown cells), free text
        nav(page, "Reader study")
        expect(page.get_by_role("heading", name="Reader study")).to_be_visible()
        assert_rendered_as_typed(tab, f"Study: {PAYLOADS[0]}")  # a caption
    finally:
        tab.close()


# --- kind 3: a session id is not a credential ----------------------------------------------------------------
def test_a_clinicians_session_id_alone_opens_nothing(live, browser) -> None:
    from playwright.sync_api import expect

    tab = Tab(browser)
    page = tab.page
    page.goto(live.url)
    nav(page, CLINICIAN_ENTRY)
    sign_in(page, ADMIN, PASSWORD)
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    victim = tab.session_ids[-1]
    tab.close()  # the tab is closed; its session waits for a reconnect

    own = app_cookies(live.url)  # the attacker's own cookies from the app, not the victim's
    attacker = RawClient(live.url, resume=victim, cookies={CLIENT_COOKIE: own[CLIENT_COOKIE]})
    try:
        shown = text_of(attacker.rerun("queue"))
    finally:
        attacker.close()
    assert attacker.session_id == victim  # Streamlit did resume the session: the guard is what stops it
    assert "Review queue" not in shown and live.public_id not in shown
    assert "Clinician sign-in" in shown
    with live.database.session() as s:
        reasons = [e.detail["reason"] for e in list_events(s, action="user.logout")]
        logins = list_events(s, action="user.login")
    assert "client_mismatch" in reasons
    # Where from: the browser's address and a reference to its session (never the session id itself).
    assert logins and all(e.detail["client"] == "127.0.0.1" and re.fullmatch(r"[0-9a-f]{16}", e.detail["session"])
                          for e in logins)
    assert victim not in str([e.detail for e in logins])
    assert victim not in live.log()


def test_a_closed_tabs_access_code_stays_with_its_browser(live, browser, tmp_path) -> None:
    from playwright.sync_api import expect

    photo = tmp_path / "scalp.jpg"
    photo.write_bytes(image_bytes("JPEG", 320, 240, seed=5))
    tab = Tab(browser)
    page = tab.page
    page.goto(f"{live.url}/new_consultation")
    expect(page.get_by_role("heading", name="New consultation")).to_be_visible()
    give_consent(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(photo)
    expect(page.get_by_text("scalp.jpg ·")).to_be_visible()
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("Your consultation has been sent")).to_be_visible(timeout=180_000)
    code = page.locator(".st-key-access_code code").inner_text().strip()
    assert CODE.fullmatch(code)
    victim = tab.session_ids[-1]
    tab.close()
    time.sleep(5)

    attacker = RawClient(live.url, resume=victim)
    try:
        shown = text_of(attacker.rerun("new_consultation"))
    finally:
        attacker.close()
    assert attacker.session_id == victim
    assert code not in shown and "Your consultation has been sent" not in shown
    assert victim not in live.log()


def test_a_signed_out_session_id_cannot_be_resumed(live, browser) -> None:
    from playwright.sync_api import expect

    tab = Tab(browser)
    page = tab.page
    page.goto(live.url)
    nav(page, CLINICIAN_ENTRY)
    sign_in(page, ADMIN, PASSWORD)
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("Clinician sign-in")).to_be_visible()
    victim = tab.session_ids[-1]
    stolen = {c["name"]: c["value"] for c in tab.context.cookies()}  # even with the browser's own cookies
    tab.close()

    attacker = RawClient(live.url, resume=victim, cookies={CLIENT_COOKIE: stolen[CLIENT_COOKIE]})
    try:
        attacker.rerun("queue")
    finally:
        attacker.close()
    assert attacker.session_id and attacker.session_id != victim  # a fresh, empty session
    assert victim not in live.log()


# --- kind 6 through nginx -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def nginx() -> Path:
    found = nginx_binary()
    if found is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    return found


@pytest.fixture
def proxy(nginx, live, tmp_path) -> Iterator:
    """Start nginx from the deploy template in front of the live server; yields a function taking options."""
    started = []

    def start(**options) -> tuple[str, Path]:
        prefix = Path(tmp_path) / f"nginx{len(started)}"
        prefix.mkdir()
        prefix.chmod(0o755)
        listen = f"127.0.0.1:{free_port()}"
        config = write_nginx(prefix, listen, [live.port], "nobody:nogroup" if _root() else None, **options)
        if _root():
            subprocess.run(["chown", "-R", "nobody:nogroup", str(prefix / "tmp")], check=True)
        base = [str(nginx), "-p", str(prefix), "-c", str(config), "-e", str(prefix / "logs/error.log")]
        checked = subprocess.run([*base, "-t", "-q"], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr
        process = subprocess.Popen([*base, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(process)
        time.sleep(1.0)
        return listen, prefix

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=15)


def _root() -> bool:
    import os

    return os.geteuid() == 0


def test_nginx_sends_the_headers_once_and_hides_upstreams_and_session_ids(proxy) -> None:
    listen, prefix = proxy()
    for path in ("/", "/_stcore/health"):
        status, headers = get(f"http://{listen}{path}")
        assert status == 200
        assert_security_headers(headers)
        assert headers.get("x-scalpscope-upstream") is None
    session, upload = str(uuid.uuid4()), str(uuid.uuid4())
    get(f"http://{listen}/_stcore/upload_file/{session}/{upload}", method="PUT")
    time.sleep(0.5)
    logged = (prefix / "logs" / "access.log").read_text()
    assert "/_stcore/upload_file/<session>/" in logged and session not in logged


def test_nginx_serves_https_with_hsts_and_redirects_plain_http(proxy, tmp_path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=60)
    tls = f"127.0.0.1:{free_port()}"
    listen, _ = proxy(tls_cert=str(cert), tls_key=str(key), tls_listen=tls)
    insecure = ssl.create_default_context()
    insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
    status, headers = get(f"https://{tls}/", context=insecure)
    assert status == 200
    assert_security_headers(headers, https=True)
    assert "max-age=" in headers["strict-transport-security"]
    status, headers = get(f"http://{listen}/")
    assert status == 301 and headers["location"].startswith("https://")
