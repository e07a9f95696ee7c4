"""The driver that writes through ``clinic/``, ``db/`` and ``scalp_model/``, announcing each transaction."""
from __future__ import annotations

import os
import random
import signal
import sys
import time

from .common import FREE_TEXT, WRITER_PAUSE_S, WRITER_PHOTO_SIZE, WRITER_PHOTOS, WRITER_USER, say


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


def writer_clinician(database):
    """The writer's clinician account, created by the first writer (a killed one may have got there first)."""
    from db.errors import ValidationError
    from db.users import create_user, get_clinician

    with database.begin() as session:
        clinician = get_clinician(session, WRITER_USER)
        if clinician is None:
            try:
                with session.begin_nested():
                    clinician = create_user(session, WRITER_USER, "crash-test-password-not-used")
            except ValidationError:  # a killed predecessor got there first
                clinician = get_clinician(session, WRITER_USER)
    return clinician


def write_forever(records: list, seed: int) -> None:
    """Submit consultations (1-3 photos) and review earlier ones, printing each code after its commit."""
    from db.consultations import claim, record_review, submit_consultation
    from db.engine import Database
    from pages import _resources as res

    say("child", os.getpid())
    rng = random.Random(seed)
    database = Database.from_env()
    clinician = writer_clinician(database)
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
