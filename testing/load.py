"""Many patients at once: N Streamlit sessions, each submitting M consultations through the real page.

Each session is its own ``AppTest`` of ``app.py`` in its own thread, driving *New consultation* as a
patient does (consent, a short history, one photo, submit, note the access code, start again). They share
what a server's sessions share: the process-wide predictor and one database. Afterwards every
returned access code must find its own consultation (its free text names the session and the photo), and
every stored overlay must equal the overlay of the same photo computed alone, so two sessions' maps can
never have been mixed.

The engine of ``scripts/load_test.py`` (the command line) and ``tests/hardening/test_concurrent_sessions.py``:

    python scripts/load_test.py [--sessions 8] [--consultations 25] [--clinicians 0] [--database-url URL]
                                [--weights FILE]

With ``--clinicians N``, N more sessions sign in as dermatologists and keep working the review queue while the
patients submit: the page reruns again and again, as each widget change (picking a row) makes it do, showing
the same listing until new consultations arrive. The summary then gives their reruns, how long a rerun took, how many queue views were audited and
what went wrong for them: reads that take SQLite's write lock, or an audit row per rerun, show up there.

Without ``--database-url`` a temporary SQLite file is used; without ``--weights`` a generated GoogLeNet
checkpoint (``testing.factories.make_checkpoint``) is. Everything is in-process and loopback-free; the run
stops itself after ``--max-seconds``.
"""
from __future__ import annotations

import io
import statistics
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from testing.concurrent_apptest import server_like_navigation, shared_like_a_server

REPO_ROOT = Path(__file__).resolve().parent.parent

APP = REPO_ROOT / "app.py"
PAGE = "pages/new_consultation.py"
IMAGE_SIZE = (96, 72)  # small photos keep the run short; the model sees 224x224 whatever the size


@dataclass(frozen=True)
class Submitted:
    session: int
    index: int
    code: str
    photo: bytes
    seconds: float

    @property
    def marker(self) -> str:
        return marker(self.session, self.index)


@dataclass
class LoadReport:
    sessions: int
    consultations: int
    submitted: list[Submitted] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    clinicians: int = 0
    queue_reruns: list[float] = field(default_factory=list)  # seconds per queue rerun
    queue_audits: int = 0
    clinician_errors: list[str] = field(default_factory=list)

    @property
    def expected(self) -> int:
        return self.sessions * self.consultations

    @property
    def ok(self) -> bool:
        return (not self.errors and not self.lost and not self.mismatched and not self.clinician_errors
                and len(self.submitted) == self.expected)

    def summary(self) -> str:
        times = sorted(s.seconds for s in self.submitted) or [0.0]
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        line = (f"load test: sessions={self.sessions} consultations={len(self.submitted)}/{self.expected} "
                f"errors={len(self.errors)} lost={len(self.lost)} overlay-mismatch={len(self.mismatched)} "
                f"wall={self.wall_s:.0f}s submit-median={statistics.median(times):.1f}s submit-p95={p95:.1f}s")
        if self.clinicians:
            reruns = sorted(self.queue_reruns) or [0.0]
            line += (f" | clinicians={self.clinicians} queue-reruns={len(self.queue_reruns)} "
                     f"rerun-median={statistics.median(reruns):.2f}s "
                     f"rerun-p95={reruns[min(len(reruns) - 1, int(0.95 * len(reruns)))]:.2f}s "
                     f"queue-views-audited={self.queue_audits} clinician-errors={len(self.clinician_errors)}")
        return line


def marker(session: int, index: int) -> str:
    """The free text of each consultation: it tells which session submitted which photo."""
    return f"load-test session {session} consultation {index}"


def photo(session: int, index: int) -> bytes:
    """A distinct small JPEG per (session, consultation): mixed-up maps would not match."""
    from testing.factories import image_bytes

    return image_bytes("JPEG", *IMAGE_SIZE, seed=10_000 + 1_000 * session + index)


def _texts(elements) -> list[str]:
    return [str(e.value) for e in elements]


def run_session(session: int, consultations: int, deadline: float, report: LoadReport, lock: threading.Lock,
                start: threading.Barrier | None = None) -> None:
    """One patient's browser tab: ``consultations`` submissions, one after the other."""
    from streamlit.testing.v1 import AppTest

    from testing.pages import shown_access_code

    def fail(index: int, what: str) -> None:
        if at.exception:
            what += " | " + " | ".join(str(e.stack_trace[-3:]) for e in at.exception)
        with lock:
            report.errors.append(f"session {session} consultation {index}: {what}")

    at = AppTest.from_file(str(APP), default_timeout=180)
    at.run()
    if start is not None:
        start.wait(timeout=300)
    at.switch_page(PAGE).run()
    for index in range(consultations):
        if time.monotonic() > deadline:
            fail(index, "not started before the deadline")
            return
        try:
            data = photo(session, index)
            began = time.perf_counter()
            at.checkbox(key="nc_consent").check()
            at.text_area(key="nc_text").input(marker(session, index))
            at.file_uploader(key="nc_files").set_value([(f"s{session}-{index}.jpg", data, "image/jpeg")])
            at.run()
            if at.exception or at.error or at.button(key="nc_submit").disabled:
                fail(index, f"photo refused: {_texts(at.exception) + _texts(at.error)}")
                return
            at.button(key="nc_submit").click().run()
            if at.exception or at.error or not shown_access_code(at):
                fail(index, f"submit failed: {_texts(at.exception) + _texts(at.error)}")
                return
            code = shown_access_code(at)
            with lock:
                report.submitted.append(Submitted(session, index, code, data, time.perf_counter() - began))
            at.button(key="nc_restart").click().run()
        except Exception as exc:  # noqa: BLE001 - a load test counts every failure, of any kind
            fail(index, f"{type(exc).__name__}: {exc} | {traceback.format_exc(limit=-4)}")
            return


CLINICIAN_PASSWORD = "load-test clinician password"


def run_clinician(index: int, stop: threading.Event, report: LoadReport, lock: threading.Lock,
                  start: threading.Barrier | None = None) -> None:
    """A dermatologist on the queue page, rerunning it (as picking rows does) until ``stop`` is set."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=180)
    at.run()
    if start is not None:
        start.wait(timeout=300)
    try:
        at.switch_page("pages/queue.py").run()
        at.text_input(key="sign_in_username").input(f"load-clinician-{index}")
        at.text_input(key="sign_in_password").input(CLINICIAN_PASSWORD)
        at.button(key="FormSubmitter:sign_in-Sign in").click().run()
        while not stop.is_set():
            began = time.perf_counter()
            at.run()  # what any widget change that keeps the listing (picking a row) does to the page
            seconds = time.perf_counter() - began
            with lock:
                report.queue_reruns.append(seconds)
                if at.exception or at.error:
                    report.clinician_errors.append(f"clinician {index}: {_texts(at.exception) + _texts(at.error)}")
            time.sleep(0.05)  # a person does not click faster than this
    except Exception as exc:  # noqa: BLE001 - a load test counts every failure, of any kind
        with lock:
            report.clinician_errors.append(f"clinician {index}: {type(exc).__name__}: {exc} | {traceback.format_exc(limit=-3)}")


def verify(report: LoadReport) -> None:
    """Every code finds its own consultation; every stored overlay equals the one computed alone."""
    import numpy as np
    from PIL import Image
    from sqlalchemy import func, select

    from db.codes import hash_code, normalise_code
    from db.models import Consultation, ConsultImage
    from pages import _resources as res

    predictor, database = res.get_predictor(), res.get_database()
    with database.session() as session:
        stored = session.scalar(select(func.count()).select_from(Consultation))
        if stored != len(report.submitted):
            report.lost.append(f"{len(report.submitted)} codes shown but {stored} consultations stored")
        for item in report.submitted:
            canonical = normalise_code(item.code)
            consultation = session.scalar(select(Consultation).where(
                Consultation.access_code_hash == hash_code(session, canonical or "")))
            if consultation is None or consultation.free_text != item.marker:
                report.lost.append(f"{item.code}: {'no consultation' if consultation is None else 'wrong one'}")
                continue
            images = list(session.scalars(select(ConsultImage).where(ConsultImage.consultation_id == consultation.id)))
            if len(images) != 1 or images[0].prediction is None or images[0].prediction.overlay_png is None:
                report.lost.append(f"{item.code}: incomplete ({len(images)} images)")
                continue
            alone = predictor.analyze_bytes(item.photo).overlay_png()
            kept = images[0].prediction.overlay_png
            if kept != alone:
                a = np.asarray(Image.open(io.BytesIO(alone)).convert("RGB"))
                b = np.asarray(Image.open(io.BytesIO(kept)).convert("RGB"))
                if a.shape != b.shape or not np.array_equal(a, b):
                    report.mismatched.append(f"{item.code} (session {item.session}, photo {item.index})")


def run_load(sessions: int = 8, consultations: int = 25, *, max_seconds: float = 240.0,
             clinicians: int = 0) -> LoadReport:
    """Drive ``sessions`` concurrent patient sessions (and ``clinicians`` on the queue) against the database and
    weights named by the environment."""
    from sqlalchemy import func, select

    from db.models import AuditEvent
    from db.users import create_user
    from pages import _resources as res

    report, lock = LoadReport(sessions, consultations, clinicians=clinicians), threading.Lock()
    res.get_predictor()  # load (and export to ONNX) once, outside the timed part, as a warm server has
    database = res.get_database()
    with database.begin() as session:
        for index in range(clinicians):
            create_user(session, f"load-clinician-{index}", CLINICIAN_PASSWORD)
    barrier, stop = threading.Barrier(sessions + clinicians), threading.Event()
    with server_like_navigation(), shared_like_a_server():
        began = time.monotonic()
        deadline = began + max_seconds
        with ThreadPoolExecutor(max_workers=sessions + clinicians, thread_name_prefix="load-session") as pool:
            futures = [pool.submit(run_session, s, consultations, deadline, report, lock, barrier)
                       for s in range(sessions)]
            watching = [pool.submit(run_clinician, c, stop, report, lock, barrier) for c in range(clinicians)]
            try:
                for future in futures:
                    future.result(timeout=max_seconds + 120)
            finally:
                stop.set()
            for future in watching:
                future.result(timeout=300)
        report.wall_s = time.monotonic() - began
    with database.session() as session:
        report.queue_audits = session.scalar(select(func.count()).select_from(AuditEvent)
                                             .where(AuditEvent.action == "queue.view"))
    verify(report)
    return report
