"""Crash test: SIGKILL the processes that write to the database at random moments, and check it each time.

Two writers share one temporary SQLite file, as in production:

* ``streamlit run app.py`` on a free 127.0.0.1 port, fed by a headless Chromium that submits consultations
  through the New consultation page (``--browser-driver``), and
* a driver process (``--writer``) that submits consultations and reviews through the very functions the
  pages call (``clinic.read_photo``, ``clinic.submit.analyse``, ``db.consultations.submit_consultation``, ``claim``,
  ``record_review``), announcing each transaction from inside it so that it can be killed mid-way.

Each round kills one of them with SIGKILL (alternately the driver, inside a transaction, and the server,
while the browser's submission is in flight), restarts it, and then checks the database:
``PRAGMA integrity_check`` and ``foreign_key_check`` pass; no image without its consultation, no
prediction without its image, no consultation without images or without its submit event; and every
consultation whose access code was shown (the driver prints a code only after ``commit`` returned, the
browser reads it off the page) is there, complete, with a prediction for each image. Every review that
was reported committed is there too. At the end the server's log must not contain a shown code or a
patient's free text.

    python scripts/crash_test.py [--kills 20] [--seed N] [--no-browser] [--max-seconds 900]

SIGKILL is a process crash; the operating system still writes what SQLite handed it. Power loss is
another matter (``synchronous=NORMAL`` in WAL mode may lose the last commits then, never consistency).
"""
from __future__ import annotations

import argparse
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

WRITER_USER = "crash-test-writer"
FREE_TEXT = "crash-test history: itchy since the move to Lyon"  # must never reach a log
WRITER_PHOTOS = 3
WRITER_PHOTO_SIZE = (480, 360)  # with its overlay PNG ~0.3 MB a photo: the database stays small
WRITER_PAUSE_S = (0.2, 0.8)  # between transactions, as patients arrive; also bounds the database's growth


def say(*parts: object) -> None:
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    sys.stdout.flush()


# --- the driver that writes through db/ and scalp_model/ --------------------------------------------------------
def run_writer(seed: int) -> None:
    """Prepare photos with the real predictor once, then fork one writing process per ``fork`` on stdin.

    Restarting a killed writer this way takes milliseconds instead of the ~15 s that importing torch
    and loading the model take, so every round can afford a kill. The forked child never touches torch;
    it opens its own database connections and writes until it is killed.
    """
    from clinic.photos import read_photo
    from clinic.submit import analyse
    from scalp_model.serving.predictor import Predictor
    from scalp_model.settings import weights_path
    from testing.factories import image_bytes

    # Eager torch: no ONNX export to verify at start-up; the engine does not matter to the database.
    predictor = Predictor.from_path(weights_path(), device="cpu", backend="torch")
    records = []
    for index in range(WRITER_PHOTOS):
        data = image_bytes("JPEG", *WRITER_PHOTO_SIZE, seed=seed * 100 + index, quality=95)
        analyses, images = analyse([read_photo(data)], predictor)
        records.append((images[0], analyses[0].prediction))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    say("ready")
    for generation, _ in enumerate(sys.stdin):
        if os.fork() == 0:
            try:
                write_forever(records, seed * 1000 + generation)
            finally:
                os._exit(0)


def write_forever(records: list, seed: int) -> None:
    """Submit consultations (1-3 photos) and review earlier ones, printing each code after its commit."""
    from db.consultations import claim, record_review, submit_consultation
    from db.engine import Database
    from db.errors import ValidationError
    from db.users import create_user, get_clinician
    from pages import _resources as res

    say("child", os.getpid())
    rng = random.Random(seed)
    database = Database.from_env()
    with database.begin() as session:
        clinician = get_clinician(session, WRITER_USER)
        if clinician is None:
            try:
                with session.begin_nested():
                    clinician = create_user(session, WRITER_USER, "crash-test-password-not-used")
            except ValidationError:  # a killed predecessor got there first
                clinician = get_clinician(session, WRITER_USER)
    submitted: list[int] = []
    for n in range(1_000_000):
        if submitted and n % 3 == 2:  # a review of an earlier consultation: claim + review, one unit of work
            consultation_id = submitted.pop(rng.randrange(len(submitted)))
            with database.begin() as session:
                say("begin", n, "review")
                claim(session, consultation_id, clinician)
                record_review(session, consultation_id, clinician, "psoriasis", "Crash-test review.")
            say("reviewed", n, consultation_id)
        else:
            chosen = rng.sample(records, rng.randint(1, 3))
            history = {"image_source": "phone", "age_band": "18–39", "free_text": FREE_TEXT}
            with database.begin() as session:
                say("begin", n, "submit")
                consultation, code = submit_consultation(session, history, res.CONSENT_VERSION,
                                                         [image for image, _ in chosen],
                                                         [prediction for _, prediction in chosen])
            submitted.append(consultation.id)
            say("shown", n, code, len(chosen))
        time.sleep(rng.uniform(*WRITER_PAUSE_S))


# --- the browser that submits through the server -----------------------------------------------------------------
def run_browser_driver(url: str, photo: Path, deadline_s: float) -> None:
    """Submit one consultation after another through the page; print each code the page shows."""
    from playwright.sync_api import expect, sync_playwright

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
            except Exception as exc:  # noqa: BLE001 - the server was killed under us: wait and go on
                say("fail", n, type(exc).__name__)
                while not healthy(url) and time.monotonic() < deadline:
                    time.sleep(0.5)
            finally:
                context.close()
            n += 1
        browser.close()


# --- the controller ------------------------------------------------------------------------------------------------
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


@dataclass
class Tally:
    kills: dict[str, int] = field(default_factory=lambda: {"writer": 0, "server": 0})
    in_flight: dict[str, int] = field(default_factory=lambda: {"writer": 0, "server": 0})
    checks: int = 0
    problems: list[str] = field(default_factory=list)
    shown: dict[str, int] = field(default_factory=dict)  # access code -> number of images
    shown_by: dict[str, set[str]] = field(default_factory=lambda: {"writer": set(), "browser": set()})
    reviewed: set[int] = field(default_factory=set)
    consultations: int = 0

    def summary(self, wall_s: float) -> str:
        return (f"crash test: kills={sum(self.kills.values())} (driver {self.kills['writer']}, "
                f"{self.in_flight['writer']} before its commit returned; server {self.kills['server']}, "
                f"{self.in_flight['server']} with a submission in flight) checks={self.checks} "
                f"failed-checks={len(self.problems)} consultations={self.consultations} "
                f"shown-codes={len(self.shown)} (driver {len(self.shown_by['writer'])}, browser "
                f"{len(self.shown_by['browser'])}) reviews={len(self.reviewed)} wall={wall_s:.0f}s")


def kill_pid(pid: int | None) -> None:
    """SIGKILL a writer this script forked (it may have died already)."""
    if pid is not None:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def unfinished(lines: list[list[str]], start: str, ends: tuple[str, ...]) -> bool:
    """Whether the last ``start`` line (begin, click) has no matching end line (shown, reviewed)."""
    starts = [line for line in lines if line and line[0] == start]
    return bool(starts) and not any(line[0] in ends and line[1:2] == starts[-1][1:2] for line in lines if line)


def collect(lines: list[list[str]], tally: Tally, source: str) -> None:
    for line in lines:
        if len(line) >= 4 and line[0] == "shown":
            tally.shown[line[2]] = int(line[3])
            tally.shown_by[source].add(line[2])
        elif len(line) >= 3 and line[0] == "reviewed":
            tally.reviewed.add(int(line[2]))


def check_database(url: str, db_path: Path, tally: Tally, when: str) -> None:
    """Integrity, no orphans, every shown code complete, every reported review present."""
    import sqlite3

    from sqlalchemy import func, select

    from db.codes import hash_code, normalise_code
    from db.engine import Database
    from db.models import Consultation, ConsultImage, Prediction, Review

    tally.checks += 1
    problems: list[str] = []
    raw = sqlite3.connect(db_path, timeout=30)
    try:
        integrity = raw.execute("PRAGMA integrity_check").fetchall()
        if integrity != [("ok",)]:
            problems.append(f"integrity_check: {integrity[:5]}")
        foreign = raw.execute("PRAGMA foreign_key_check").fetchall()
        if foreign:
            problems.append(f"foreign_key_check: {foreign[:5]}")
        orphans = {
            "images without consultation": "SELECT count(*) FROM consult_images i LEFT JOIN consultations c "
                                           "ON c.id = i.consultation_id WHERE c.id IS NULL",
            "predictions without image": "SELECT count(*) FROM predictions p LEFT JOIN consult_images i "
                                         "ON i.id = p.image_id WHERE i.id IS NULL",
            "consultations without images": "SELECT count(*) FROM consultations c WHERE NOT EXISTS "
                                            "(SELECT 1 FROM consult_images i WHERE i.consultation_id = c.id)",
            "images without prediction": "SELECT count(*) FROM consult_images i WHERE NOT EXISTS "
                                         "(SELECT 1 FROM predictions p WHERE p.image_id = i.id)",
            "consultations without submit event": "SELECT count(*) FROM consultations c WHERE NOT EXISTS "
                                                  "(SELECT 1 FROM audit_events e WHERE e.consultation_id = c.id "
                                                  "AND e.action = 'consultation.submit')",
            "reviewed without review": "SELECT count(*) FROM consultations c WHERE c.status = 'reviewed' AND "
                                       "NOT EXISTS (SELECT 1 FROM reviews r WHERE r.consultation_id = c.id)",
        }
        for name, sql in orphans.items():
            count = raw.execute(sql).fetchone()[0]
            if count:
                problems.append(f"{count} {name}")
    finally:
        raw.close()
    database = Database.from_url(url)
    try:
        with database.session() as session:
            tally.consultations = session.scalar(select(func.count()).select_from(Consultation))
            for code, images in tally.shown.items():
                digest = hash_code(session, normalise_code(code) or "")
                consultation = session.scalar(select(Consultation).where(Consultation.access_code_hash == digest))
                if consultation is None:
                    problems.append(f"code {code[:4]}… was shown but its consultation is missing")
                    continue
                stored = session.execute(
                    select(func.count(ConsultImage.id), func.count(Prediction.id), func.min(ConsultImage.size_bytes))
                    .outerjoin(Prediction, Prediction.image_id == ConsultImage.id)
                    .where(ConsultImage.consultation_id == consultation.id)).one()
                if stored[0] != images or stored[1] != images or not stored[2]:
                    problems.append(f"code {code[:4]}…: {stored[0]} images, {stored[1]} predictions, "
                                    f"expected {images}")
            for consultation_id in tally.reviewed:
                if session.scalar(select(func.count()).where(Review.consultation_id == consultation_id)) != 1:
                    problems.append(f"review of consultation {consultation_id} reported but not stored")
    finally:
        database.dispose()
    tally.problems += [f"{when}: {p}" for p in problems]
    say(f"  check {tally.checks} ({when}): " + ("ok" if not problems else "; ".join(problems)))


def controller(kills: int, seed: int, browser: bool, max_seconds: float, workdir: Path, weights: str | None) -> int:
    from db.engine import Database
    from testing.factories import image_bytes, make_checkpoint
    from testing.live import LiveServer, free_port

    began = time.monotonic()
    deadline = began + max_seconds
    rng = random.Random(seed)
    db_path = workdir / "crash.db"
    url = f"sqlite:///{db_path}"
    weights = weights or str(make_checkpoint(workdir / "tiny.pt"))
    env = {"DATABASE_URL": url, "SCALPSCOPE_WEIGHTS": weights, "SCALPSCOPE_DEVICE": "cpu",
           "SCALPSCOPE_CACHE_DIR": str(workdir / "cache"), "PYTHONUNBUFFERED": "1"}
    os.environ.update(env)
    database = Database.from_url(url)
    database.migrate()
    database.dispose()
    photo = workdir / "browser-scalp.jpg"
    photo.write_bytes(image_bytes("JPEG", 800, 600, seed=seed))
    server_log = workdir / "server.log"
    server = LiveServer(free_port(), env, server_log)
    me = [sys.executable, str(Path(__file__).resolve())]
    writer = Child("writer", [*me, "--writer", "--seed", str(seed)], env, workdir / "writer.log")
    driver = Child("browser", [*me, "--browser-driver", server.url, str(photo), "--max-seconds", str(max_seconds)],
                   env, workdir / "browser.log")
    tally = Tally()
    child: int | None = None
    since_restart = 0
    writer_lines: list[list[str]] = []
    driver_lines: list[list[str]] = []
    say(f"crash test: {kills} kills, seed {seed}, database {db_path}, server {server.url}"
        f"{'' if browser else ' (no browser: only the driver writes)'}")
    try:
        server.start()
        writer.start()
        if writer.wait_for("ready", 180, writer_lines) is None:
            raise RuntimeError(f"the driver did not start: {(workdir / 'writer.log').read_text()[-2000:]}")
        child = writer.fork_writer(writer_lines)
        if browser:
            driver.start()
            if driver.wait_for("ready", 120, driver_lines) is None:
                raise RuntimeError(f"the browser did not start: {(workdir / 'browser.log').read_text()[-2000:]}")
        for round_ in range(kills):
            if time.monotonic() > deadline:
                tally.problems.append(f"stopped after {round_} kills: --max-seconds reached")
                break
            target = "server" if browser and round_ % 2 == 1 else "writer"
            time.sleep(rng.uniform(0.2, 1.5))
            waited = time.monotonic()
            if target == "writer":
                writer.take(writer_lines)  # only a transaction that begins from now on
                writer.wait_for("begin", 60, writer_lines)
                time.sleep(rng.uniform(0.0, 0.003))  # a submit transaction takes a few ms
                kill_pid(child)
                time.sleep(0.2)
                writer.take(writer_lines)
                tally.in_flight["writer"] += unfinished(writer_lines, "begin", ("shown", "reviewed"))
                collect(writer_lines, tally, "writer")
                writer_lines.clear()
                restart = time.monotonic()
                child = writer.fork_writer(writer_lines)
                if child is None:
                    tally.problems.append(f"round {round_}: the driver did not restart")
            else:
                driver.take(driver_lines)
                if not any(line[0] == "shown" for line in driver_lines[since_restart:] if line):
                    driver.wait_for("shown", 90, driver_lines)  # at least one code from this server first
                driver.wait_for("click", 90, driver_lines)
                time.sleep(rng.uniform(0.0, 2.5))  # a submission takes ~2 s: prediction, commit, results
                server.kill()
                time.sleep(0.3)
                driver.take(driver_lines)
                tally.in_flight["server"] += unfinished(driver_lines, "click", ("shown",))
                collect(driver_lines, tally, "browser")
                restart = time.monotonic()
                server.start()
                since_restart = len(driver_lines)
            tally.kills[target] += 1
            say(f"  kill {round_ + 1}: {target} after {restart - waited:.1f}s, restarted in "
                f"{time.monotonic() - restart:.1f}s")
            check_database(url, db_path, tally, f"after kill {round_ + 1} ({target})")
    except RuntimeError as exc:
        tally.problems.append(str(exc))
    finally:
        kill_pid(child)
        time.sleep(0.2)
        writer.stop()
        driver.stop()
        server.stop()
        writer.drain(writer_lines)
        driver.drain(driver_lines)
        collect(writer_lines, tally, "writer")
        collect(driver_lines, tally, "browser")
    check_database(url, db_path, tally, "at the end")
    log = server_log.read_text(errors="replace")
    leaks = [code for code in tally.shown if code in log or code.replace("-", "") in log]
    if FREE_TEXT in log or leaks:
        tally.problems.append(f"the server log holds patient data ({len(leaks)} codes, "
                              f"free text: {FREE_TEXT in log})")
    say(tally.summary(time.monotonic() - began))
    for problem in tally.problems[:20]:
        say("  PROBLEM:", problem)
    return 0 if not tally.problems and sum(tally.kills.values()) == kills else 1


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs to deal (default 20)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock, printed)")
    parser.add_argument("--no-browser", action="store_true", help="no Chromium: only the driver process writes")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="give up after this long (default 900)")
    parser.add_argument("--weights", help="checkpoint (default: a generated GoogLeNet checkpoint)")
    parser.add_argument("--workdir", help="keep the database and logs here (default: a temporary folder)")
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--browser-driver", nargs=2, metavar=("URL", "PHOTO"), help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time()) % 100_000
    if args.writer:
        run_writer(seed)
        return 0
    if args.browser_driver:
        run_browser_driver(args.browser_driver[0], Path(args.browser_driver[1]), args.max_seconds)
        return 0
    from testing.live import CHROMIUM

    browser = not args.no_browser and CHROMIUM.exists()
    if args.workdir:
        workdir = Path(args.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        return controller(args.kills, seed, browser, args.max_seconds, workdir, args.weights)
    with tempfile.TemporaryDirectory(prefix="scalpscope-crash-") as tmp:
        return controller(args.kills, seed, browser, args.max_seconds, Path(tmp), args.weights)


if __name__ == "__main__":
    sys.exit(main())
