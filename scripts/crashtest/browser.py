"""The headless Chromium that submits consultations through the server's page."""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from .common import FREE_TEXT, say


def submit_once(page, url: str, photo: Path, n: int) -> None:
    """One consultation through the New consultation page; prints its code once the page shows it."""
    from playwright.sync_api import expect

    from testing.live import healthy

    page.goto(f"{url}/new_consultation")
    page.get_by_text("I have read this and agree").click()
    page.get_by_role("textbox", name="Anything else the dermatologist should know?").fill(FREE_TEXT)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(photo)
    expect(page.get_by_text(f"{photo.name} ·")).to_be_visible()
    say("click", n)
    page.get_by_role("button", name="Submit for review").click()
    sent = page.get_by_text("Your consultation has been sent")
    until = time.monotonic() + 90
    while not sent.is_visible():  # until the code shows, or the server is gone (its page with it)
        if not healthy(url) or time.monotonic() > until:
            raise TimeoutError("no access code: the server went away or took too long")
        page.wait_for_timeout(300)
    say("shown", n, page.locator(".st-key-access_code code").inner_text().strip(), 1)


def run_browser_driver(url: str, photo: Path, deadline_s: float) -> None:
    """Submit one consultation after another through the page; print each code the page shows."""
    from playwright.sync_api import sync_playwright

    from testing.live import healthy, launch_chromium

    deadline = time.monotonic() + deadline_s
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # close the browser on the way out
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        say("ready")
        n = 0
        while time.monotonic() < deadline:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(30_000)
            try:
                submit_once(page, url, photo, n)
            except Exception as exc:  # noqa: BLE001 - the server was killed under us: wait and go on
                say("fail", n, type(exc).__name__)
                while not healthy(url) and time.monotonic() < deadline:
                    time.sleep(0.5)
            finally:
                context.close()
            n += 1
        browser.close()
