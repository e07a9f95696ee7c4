"""A ``streamlit run serve.py`` process that can be killed and restarted on the same loopback port.

``tests/app/browser.py`` has the context manager the browser tests use (start once, stop at the end);
``scripts/crash_test.py`` needs to SIGKILL the server at random moments and start it again on the same
port, so the browser keeps its address. Chromium, ports and health checks come from the same module.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.app.browser import CHROMIUM, CHROMIUM_ARGS, START_TIMEOUT_S, free_port, healthy
from tests.conftest import REPO_ROOT

__all__ = ["CHROMIUM", "LiveServer", "free_port", "healthy", "launch_chromium"]


@dataclass
class LiveServer:
    """One ``streamlit run serve.py`` on 127.0.0.1:``port``; its output is appended to ``log_path``."""

    port: int
    env: Mapping[str, str]
    log_path: Path
    extra_args: Sequence[str] = ()
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = START_TIMEOUT_S) -> LiveServer:
        """Start the server and wait until its health endpoint answers; RuntimeError otherwise."""
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(self.port),
                 "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
                 "--browser.gatherUsageStats", "false", *self.extra_args],
                cwd=REPO_ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env}, stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout_s
        while not healthy(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"streamlit did not become healthy:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.3)
        return self

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


def launch_chromium(playwright):
    """The Debian Chromium (never a downloaded one), headless, without background network traffic."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
