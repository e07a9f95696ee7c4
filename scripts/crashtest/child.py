"""A child process of the crash test whose stdout lines arrive, with their arrival time, on a queue."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .common import REPO_ROOT


@dataclass
class Child:
    """A child process whose stdout lines arrive, with their arrival time, on a queue."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen | None = None
    lines: queue.Queue = field(default_factory=queue.Queue)

    def start(self) -> None:
        self.lines = queue.Queue()
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(self.argv, cwd=REPO_ROOT, env={**os.environ, **self.env},
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                                            bufsize=1)
        threading.Thread(target=self._pump, args=(self.process, self.lines), daemon=True).start()

    @staticmethod
    def _pump(process: subprocess.Popen, lines: queue.Queue) -> None:
        for line in process.stdout:
            lines.put(line.split())
        lines.put(None)  # end of output

    def wait_for(self, word: str, timeout: float, seen: list[list[str]]) -> list[str] | None:
        """Lines until one starts with ``word`` (all of them appended to ``seen``); None on timeout/exit."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if line is None:
                return None
            seen.append(line)
            if line and line[0] == word:
                return line
        return None

    def take(self, seen: list[list[str]]) -> None:
        """What has arrived so far, without waiting."""
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                return
            if line is None:
                self.lines.put(None)
                return
            seen.append(line)

    def drain(self, seen: list[list[str]], timeout: float = 5.0) -> None:
        """Everything the (dead or stopped) process printed, up to the end of its output."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process is None or self.process.poll() is not None:
                    continue
                return
            if line is None:
                return
            seen.append(line)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=15)

    def fork_writer(self, seen: list[list[str]]) -> int | None:
        """Ask the prepared writer for a fresh writing process; its pid, or None."""
        self.process.stdin.write("fork\n")
        self.process.stdin.flush()
        line = self.wait_for("child", 30, seen)
        return int(line[1]) if line else None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.stdin.close()
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def kill_pid(pid: int | None) -> None:
    """SIGKILL a writer this script forked (it may have died already)."""
    if pid is not None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
