"""One live ScalpScope server and one Chromium, for every real-browser test and script.

``live_app(env)`` runs ``streamlit run serve.py`` on a free 127.0.0.1 port and yields its URL once healthy;
``live_server(...)`` yields the :class:`LiveServer` itself (its log, its process, ``kill()``/``start()`` to
crash and restart it on the same port). ``chromium_page(url)`` opens Debian's Chromium (never a downloaded
one) headless on a page; ``launch_chromium(playwright)`` is the launch both use, for the sync and the async
Playwright API alike. Everything stops (then is killed) on the way out, also when the caller fails.

    with live_app({"DATABASE_URL": url}) as base, chromium_page(f"{base}/new_consultation") as page:
        page.get_by_text("I have read this and agree").click()
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO_ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
START_TIMEOUT_S = 90
STEP_TIMEOUT_MS = 45_000
DEFAULT_VIEWPORT = {"width": 1280, "height": 900}

__all__ = ["ARTIFACTS", "CHROMIUM", "CHROMIUM_ARGS", "LiveServer", "ServerStartError", "START_TIMEOUT_S",
           "STEP_TIMEOUT_MS", "chromium", "chromium_page", "free_port", "healthy", "launch_chromium", "live_app",
           "live_server", "wait_all_healthy"]


class ServerStartError(RuntimeError):
    """The server exited or did not answer its health check in time; the message ends with its log."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthy(url: str) -> bool:
    """True when Streamlit's ``/_stcore/health`` at ``url`` answers 200 within 2 s."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@dataclass
class LiveServer:
    """One ``streamlit run serve.py`` on ``port``; its output is appended to ``log_path``.

    ``address`` is passed as ``--server.address`` (None: not passed, so ``.streamlit/config.toml``'s default
    applies); the URL is always the loopback one. ``env`` is added to this process's environment.
    """

    port: int
    env: Mapping[str, str]
    log_path: Path
    extra_args: Sequence[str] = ()
    address: str | None = "127.0.0.1"
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def argv(self) -> list[str]:
        """The command line: ``python -m streamlit run serve.py`` headless, without file watcher or telemetry."""
        address = ["--server.address", self.address] if self.address else []
        return [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(self.port), *address,
                "--server.headless", "true", "--server.fileWatcherType", "none",
                "--browser.gatherUsageStats", "false", *self.extra_args]

    def launch(self) -> LiveServer:
        """Start the process without waiting for it (see :meth:`wait_healthy`)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(self.argv(), cwd=REPO_ROOT,
                                            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
                                            stdout=log, stderr=subprocess.STDOUT)
        return self

    def wait_healthy(self, deadline: float) -> None:
        """Wait until the health endpoint answers; stop the server and raise :class:`ServerStartError` when
        it exits or ``deadline`` (``time.monotonic()``) passes first."""
        while not healthy(self.url):
            if self.process is None or self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ServerStartError(f"streamlit on port {self.port} did not become healthy:\n{self.log()[-3000:]}")
            time.sleep(0.3)

    def start(self, timeout_s: float = START_TIMEOUT_S) -> LiveServer:
        """Start the server and wait until it is healthy (:class:`ServerStartError` otherwise)."""
        self.launch().wait_healthy(time.monotonic() + timeout_s)
        return self

    def log(self) -> str:
        """Everything the server printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as a crash or the OOM killer would do."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=15)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 15 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


def wait_all_healthy(servers: Sequence[LiveServer], timeout_s: float = START_TIMEOUT_S) -> None:
    """Wait for servers launched together; on the first failure stop them all and raise."""
    deadline = time.monotonic() + timeout_s
    try:
        for server in servers:
            server.wait_healthy(deadline)
    except BaseException:
        for server in servers:
            server.stop()
        raise


@contextmanager
def live_server(env: Mapping[str, str] | None = None, *, port: int | None = None,
                log_name: str = "live-server.log", log_dir: Path = ARTIFACTS, address: str | None = "127.0.0.1",
                extra_args: Sequence[str] = (), timeout_s: float = START_TIMEOUT_S) -> Iterator[LiveServer]:
    """A healthy :class:`LiveServer` (on ``port``, default a free one) with ``env`` added; the log is
    written afresh to ``log_dir/log_name``; stopped (then killed) on exit."""
    log_path = log_dir / log_name
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text("")
    server = LiveServer(port or free_port(), dict(env or {}), log_path, tuple(extra_args), address)
    try:
        yield server.start(timeout_s)
    finally:
        server.stop()


@contextmanager
def live_app(env: Mapping[str, str] | None = None, *, port: int | None = None,
             log_name: str = "live-server.log") -> Iterator[str]:
    """``streamlit run serve.py`` on 127.0.0.1 (``port``, default a free one) with ``env`` added; yields its
    URL once healthy. The output goes to ``test-artifacts/<log_name>``."""
    with live_server(env, port=port, log_name=log_name) as server:
        yield server.url


def launch_chromium(playwright: Any, executable: Path | str = CHROMIUM) -> Any:
    """``playwright.chromium.launch`` of Debian's Chromium, headless, without background network traffic.

    Works with the sync and the async API (with the async one, await the result).
    """
    return playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS, headless=True)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser (sync Playwright), closed on exit; open contexts and pages from it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def chromium_page(url: str | None = None, *, viewport: Mapping[str, int] | None = None,
                  timeout_ms: int = STEP_TIMEOUT_MS) -> Iterator[Any]:
    """One page in a fresh headless Chromium (``viewport`` default 1280x900, every step bounded by
    ``timeout_ms``), at ``url`` when given; the browser is closed on exit."""
    with chromium() as browser:
        context = browser.new_context(viewport=dict(viewport or DEFAULT_VIEWPORT))
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        if url is not None:
            page.goto(url)
        yield page
