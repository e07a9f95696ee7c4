"""What the real-browser tests share: navigation, waiting and full-page screenshots on top of
:mod:`testing.live` (the one live server and Chromium launcher, shared with ``scripts/``). Used by the
browser tests in ``tests/app/``, ``tests/reader/``, ``tests/security/``, ``tests/hardening/``, ``tests/deploy/``.

Tests using it are marked ``browser``; without /usr/bin/chromium they skip, unless
``SCALPSCOPE_REQUIRE_BROWSER=1`` (CI), where a missing browser fails.
"""
from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager

import pytest

from testing.live import (  # noqa: F401 - re-exported for the browser tests
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    START_TIMEOUT_S,
    STEP_TIMEOUT_MS,
    ServerStartError,
    chromium,
    chromium_page,
    free_port,
    healthy,
    launch_chromium,
    live_app,
    live_server,
)
from testing.pages import CONSENT_ACKNOWLEDGED
from testing.switches import REQUIRE_BROWSER


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if REQUIRE_BROWSER.get():
        pytest.fail(f"SCALPSCOPE_REQUIRE_BROWSER=1 but {CHROMIUM} is missing (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} not found (apt-get install chromium); set SCALPSCOPE_REQUIRE_BROWSER=1 to fail instead")


@contextmanager
def streamlit_server(env: Mapping[str, str], log_name: str) -> Iterator[str]:
    """:func:`testing.live.live_app` for a test: a server that does not start fails the test (not an error).

    The server's output goes to ``test-artifacts/<log_name>``; it is stopped (then killed) on exit.
    """
    with ExitStack() as stack:
        try:
            url = stack.enter_context(live_app(env, log_name=log_name))
        except ServerStartError as exc:
            pytest.fail(str(exc))
        yield url


CLINICIAN_ENTRY = "For clinicians (sign in)"  # the menu's one clinician entry before a sign-in (pages/_nav.py)


def nav(page, title: str) -> None:
    page.get_by_test_id("stSidebarNavItems").get_by_role("link", name=title).click()


def sign_in(page, username: str, password: str) -> None:
    """Fill and send the clinician sign-in form shown on every clinician page."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def wait_until(page, predicate: str, arg=None, timeout_s: float = 30.0) -> None:
    """Poll a JavaScript function until it returns true. Not ``page.wait_for_function``: its in-page poller
    evaluates the predicate as a string, which the app's Content-Security-Policy (no 'unsafe-eval') refuses
    whenever the predicate is not already true at the first try; ``page.evaluate`` calls it through the
    DevTools protocol instead."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(predicate, arg):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout_s:g} s: {predicate}")
        page.wait_for_timeout(100)


def shoot(page, name: str) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its own container, so grow the viewport."""
    wait_until(page, "() => Array.from(document.images).every(i => i.complete)")  # laid out at full height
    size = page.viewport_size
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]')?.scrollHeight ?? 0")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(int(height) + 40, 4000))})
    page.screenshot(path=ARTIFACTS / f"{name}.png")
    page.set_viewport_size(size)


def settle(page) -> None:
    """Wait until the script run has finished: no running indicator and no stale (previous-run) element.

    While a run is under way, elements of the previous run stay on screen until the new run replaces
    them; typing into one of those (a form about to be swapped for the next case's) is lost.
    """
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stStatusWidgetRunningIcon")).to_have_count(0)
    expect(page.locator('[data-testid="stElementContainer"][data-stale="true"]')).to_have_count(0)




def give_consent(page) -> None:
    """Tick the consent box and wait until the server has run with it, before any photo is handed over.

    Streamlit drops its reply to the uploader's upload-URL request when a script run starts while the reply
    is still queued; a photo given during the consent click's pending rerun is then never uploaded.
    """
    page.get_by_text("I have read this and agree").click()
    page.get_by_text(CONSENT_ACKNOWLEDGED).wait_for()
    settle(page)
