"""The crash test's rounds: start both writers, kill one of them each round, restart it, check the database."""
from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

from .checks import check_database
from .child import Child, kill_pid
from .common import FREE_TEXT, SCRIPT, say
from .tally import Tally, collect, unfinished


class CrashTest:
    """The server, the two writers (driver and browser), what they printed, and the tally."""

    def __init__(self, seed: int, browser: bool, max_seconds: float, workdir: Path, weights: str | None) -> None:
        from testing.factories import image_bytes, make_checkpoint
        from testing.live import LiveServer, free_port

        self.rng, self.browser, self.workdir = random.Random(seed), browser, workdir
        self.db_path = workdir / "crash.db"
        self.url = f"sqlite:///{self.db_path}"
        weights = weights or str(make_checkpoint(workdir / "tiny.pt"))
        self.env = {"DATABASE_URL": self.url, "SCALPSCOPE_WEIGHTS": weights, "SCALPSCOPE_DEVICE": "cpu",
                    "SCALPSCOPE_CACHE_DIR": str(workdir / "cache"), "PYTHONUNBUFFERED": "1"}
        os.environ.update(self.env)
        self._migrate()
        photo = workdir / "browser-scalp.jpg"
        photo.write_bytes(image_bytes("JPEG", 800, 600, seed=seed))
        self.server_log = workdir / "server.log"
        self.server = LiveServer(free_port(), self.env, self.server_log)
        me = [sys.executable, str(SCRIPT)]
        self.writer = Child("writer", [*me, "--writer", "--seed", str(seed)], self.env, workdir / "writer.log")
        self.driver = Child("browser", [*me, "--browser-driver", self.server.url, str(photo), "--max-seconds",
                                        str(max_seconds)], self.env, workdir / "browser.log")
        self.tally = Tally()
        self.child: int | None = None
        self.since_restart = 0
        self.writer_lines: list[list[str]] = []
        self.driver_lines: list[list[str]] = []

    def _migrate(self) -> None:
        from db.engine import Database

        database = Database.from_url(self.url)
        database.migrate()
        database.dispose()

    def start(self) -> None:
        """The server, the prepared driver and its first writing process, and the browser."""
        self.server.start()
        self.writer.start()
        if self.writer.wait_for("ready", 180, self.writer_lines) is None:
            raise RuntimeError(f"the driver did not start: {(self.workdir / 'writer.log').read_text()[-2000:]}")
        self.child = self.writer.fork_writer(self.writer_lines)
        if self.browser:
            self.driver.start()
            if self.driver.wait_for("ready", 120, self.driver_lines) is None:
                raise RuntimeError(f"the browser did not start: {(self.workdir / 'browser.log').read_text()[-2000:]}")

    def kill_writer(self, round_: int) -> float:
        """SIGKILL the writing process inside a transaction, fork a new one; when the restart began."""
        writer, lines = self.writer, self.writer_lines
        writer.take(lines)  # only a transaction that begins from now on
        writer.wait_for("begin", 60, lines)
        time.sleep(self.rng.uniform(0.0, 0.003))  # a submit transaction takes a few ms
        kill_pid(self.child)
        time.sleep(0.2)
        writer.take(lines)
        self.tally.in_flight["writer"] += unfinished(lines, "begin", ("shown", "reviewed"))
        collect(lines, self.tally, "writer")
        lines.clear()
        restart = time.monotonic()
        self.child = writer.fork_writer(lines)
        if self.child is None:
            self.tally.problems.append(f"round {round_}: the driver did not restart")
        return restart

    def kill_server(self) -> float:
        """SIGKILL the server while the browser's submission is in flight, start it again; when the restart began."""
        driver, lines = self.driver, self.driver_lines
        driver.take(lines)
        if not any(line[0] == "shown" for line in lines[self.since_restart:] if line):
            driver.wait_for("shown", 90, lines)  # at least one code from this server first
        driver.wait_for("click", 90, lines)
        time.sleep(self.rng.uniform(0.0, 2.5))  # a submission takes ~2 s: prediction, commit, results
        self.server.kill()
        time.sleep(0.3)
        driver.take(lines)
        self.tally.in_flight["server"] += unfinished(lines, "click", ("shown",))
        collect(lines, self.tally, "browser")
        restart = time.monotonic()
        self.server.start()
        self.since_restart = len(lines)
        return restart

    def round(self, round_: int) -> None:
        """Kill one of them (the server every other round when the browser runs), restart it, check."""
        target = "server" if self.browser and round_ % 2 == 1 else "writer"
        time.sleep(self.rng.uniform(0.2, 1.5))
        waited = time.monotonic()
        restart = self.kill_writer(round_) if target == "writer" else self.kill_server()
        self.tally.kills[target] += 1
        say(f"  kill {round_ + 1}: {target} after {restart - waited:.1f}s, restarted in "
            f"{time.monotonic() - restart:.1f}s")
        check_database(self.url, self.db_path, self.tally, f"after kill {round_ + 1} ({target})")

    def stop(self) -> None:
        """Stop everything and collect what the processes printed last."""
        kill_pid(self.child)
        time.sleep(0.2)
        self.writer.stop()
        self.driver.stop()
        self.server.stop()
        self.writer.drain(self.writer_lines)
        self.driver.drain(self.driver_lines)
        collect(self.writer_lines, self.tally, "writer")
        collect(self.driver_lines, self.tally, "browser")

    def check_server_log(self) -> None:
        """No shown code and no patient's free text in the server's log."""
        log = self.server_log.read_text(errors="replace")
        leaks = [code for code in self.tally.shown if code in log or code.replace("-", "") in log]
        if FREE_TEXT in log or leaks:
            self.tally.problems.append(f"the server log holds patient data ({len(leaks)} codes, "
                                       f"free text: {FREE_TEXT in log})")


def controller(kills: int, seed: int, browser: bool, max_seconds: float, workdir: Path, weights: str | None) -> int:
    """``kills`` rounds within ``max_seconds``, then the final checks; 0 when every kill was dealt and every
    check passed."""
    began = time.monotonic()
    deadline = began + max_seconds
    test = CrashTest(seed, browser, max_seconds, workdir, weights)
    tally = test.tally
    say(f"crash test: {kills} kills, seed {seed}, database {test.db_path}, server {test.server.url}"
        f"{'' if browser else ' (no browser: only the driver writes)'}")
    try:
        test.start()
        for round_ in range(kills):
            if time.monotonic() > deadline:
                tally.problems.append(f"stopped after {round_} kills: --max-seconds reached")
                break
            test.round(round_)
    except RuntimeError as exc:
        tally.problems.append(str(exc))
    finally:
        test.stop()
    check_database(test.url, test.db_path, tally, "at the end")
    test.check_server_log()
    say(tally.summary(time.monotonic() - began))
    for problem in tally.problems[:20]:
        say("  PROBLEM:", problem)
    return 0 if not tally.problems and sum(tally.kills.values()) == kills else 1
