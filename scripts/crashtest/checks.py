"""The database checks after each kill: integrity, no orphans, every shown code complete, every review there."""
from __future__ import annotations

from pathlib import Path

from .common import say
from .tally import Tally

ORPHANS = {
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


def file_problems(db_path: Path) -> list[str]:
    """SQLite's ``integrity_check`` and ``foreign_key_check``, and the orphans of :data:`ORPHANS`."""
    import sqlite3

    problems: list[str] = []
    raw = sqlite3.connect(db_path, timeout=30)
    try:
        integrity = raw.execute("PRAGMA integrity_check").fetchall()
        if integrity != [("ok",)]:
            problems.append(f"integrity_check: {integrity[:5]}")
        foreign = raw.execute("PRAGMA foreign_key_check").fetchall()
        if foreign:
            problems.append(f"foreign_key_check: {foreign[:5]}")
        for name, sql in ORPHANS.items():
            count = raw.execute(sql).fetchone()[0]
            if count:
                problems.append(f"{count} {name}")
    finally:
        raw.close()
    return problems


def shown_code_problems(session, code: str, images: int) -> list[str]:
    """The consultation of a shown code is there with ``images`` images, each with its prediction."""
    from sqlalchemy import func, select

    from db.codes import hash_code, normalise_code
    from db.models import Consultation, ConsultImage, Prediction

    digest = hash_code(session, normalise_code(code) or "")
    consultation = session.scalar(select(Consultation).where(Consultation.access_code_hash == digest))
    if consultation is None:
        return [f"code {code[:4]}… was shown but its consultation is missing"]
    stored = session.execute(
        select(func.count(ConsultImage.id), func.count(Prediction.id), func.min(ConsultImage.size_bytes))
        .outerjoin(Prediction, Prediction.image_id == ConsultImage.id)
        .where(ConsultImage.consultation_id == consultation.id)).one()
    if stored[0] != images or stored[1] != images or not stored[2]:
        return [f"code {code[:4]}…: {stored[0]} images, {stored[1]} predictions, expected {images}"]
    return []


def stored_problems(url: str, tally: Tally) -> list[str]:
    """Every shown code complete and every reported review stored; counts the consultations into ``tally``."""
    from sqlalchemy import func, select

    from db.engine import Database
    from db.models import Consultation, Review

    problems: list[str] = []
    database = Database.from_url(url)
    try:
        with database.session() as session:
            tally.consultations = session.scalar(select(func.count()).select_from(Consultation))
            for code, images in tally.shown.items():
                problems += shown_code_problems(session, code, images)
            for consultation_id in tally.reviewed:
                if session.scalar(select(func.count()).where(Review.consultation_id == consultation_id)) != 1:
                    problems.append(f"review of consultation {consultation_id} reported but not stored")
    finally:
        database.dispose()
    return problems


def check_database(url: str, db_path: Path, tally: Tally, when: str) -> None:
    """Integrity, no orphans, every shown code complete, every reported review present."""
    tally.checks += 1
    problems = file_problems(db_path) + stored_problems(url, tally)
    tally.problems += [f"{when}: {p}" for p in problems]
    say(f"  check {tally.checks} ({when}): " + ("ok" if not problems else "; ".join(problems)))
