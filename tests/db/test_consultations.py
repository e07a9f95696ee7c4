"""Submission, queue order and paging, transitions, and the patient's code look-up."""

from __future__ import annotations

import hashlib
from dataclasses import fields
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from db import codes
from db.consultations import (
    PatientView,
    QueueCursor,
    claim,
    close,
    compute_triage,
    get_consultation_for_clinician,
    list_queue,
    lookup_by_code,
    queue_counts,
    record_review,
    release,
    submit_consultation,
)
from db.engine import Database
from db.errors import InvalidTransitionError, NotFoundError, ValidationError
from db.models import AuditEvent, Consultation, ConsultImage, Prediction, utcnow
from tests.db.builders import HISTORY, new_image, new_prediction


def submit(database: Database, *predictions, now=None, **kwargs):  # type: ignore[no-untyped-def]
    predictions = predictions or (new_prediction(),)
    images = [new_image() for _ in predictions]
    with database.begin() as s:
        consultation, code = submit_consultation(s, HISTORY, "consent-v1", images, list(predictions), now=now, **kwargs)
    return consultation, code


def row_counts(database: Database) -> list[int]:
    with database.session() as s:
        return [
            s.scalar(select(func.count()).select_from(m)) for m in (Consultation, ConsultImage, Prediction, AuditEvent)
        ]


# --- submit ----------------------------------------------------------------------------------------
def test_failure_half_way_leaves_no_row(database: Database) -> None:
    with pytest.raises(RuntimeError), database.begin() as s:
        submit_consultation(s, HISTORY, "v1", [new_image()], [new_prediction()])
        s.flush()
        raise RuntimeError("the app crashed after the insert")
    broken = new_prediction()
    object.__setattr__(broken, "label", None)  # NOT NULL violated by the last row of the flush
    with pytest.raises(Exception, match="label"), database.begin() as s:
        submit_consultation(s, HISTORY, "v1", [new_image(), new_image("JPEG")], [new_prediction(), broken])
    assert row_counts(database) == [0, 0, 0, 0]


def test_image_and_overlay_bytes_round_trip(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    images = [new_image("PNG"), new_image("JPEG", colour=(10, 200, 30))]
    predictions = [new_prediction(0.9), None]
    with database.begin() as s:
        consultation, _ = submit_consultation(s, HISTORY, "v1", images, predictions)
    with database.begin() as s:
        loaded = get_consultation_for_clinician(s, consultation.public_id, clinicians[0])
    assert [i.data for i in loaded.images] == [i.data for i in images]
    assert [i.sha256 for i in loaded.images] == [hashlib.sha256(i.data).hexdigest() for i in images]
    assert [i.mime for i in loaded.images] == ["image/png", "image/jpeg"]
    assert loaded.images[0].capture == {"source": "phone", "original_format": "PNG"}
    assert loaded.images[0].prediction.overlay_png == images[0].overlay_png  # the map travels with its image
    assert loaded.images[1].prediction is None
    assert loaded.created_at.tzinfo is not None and loaded.free_text == HISTORY["free_text"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"images": []}, "1 to 3 images"),
        ({"consent_version": ""}, "consent"),
        ({"history": {**HISTORY, "image_source": "camera"}}, "Photos taken with"),
        ({"history": {**HISTORY, "email": "x"}}, "Unknown history"),
        ({"predictions": []}, "one prediction"),
    ],
)
def test_submit_rejects_bad_input(database: Database, change: dict, message: str) -> None:
    arguments = {"history": HISTORY, "consent_version": "v1", "images": [new_image()], "predictions": [None], **change}
    with pytest.raises(ValidationError, match=message), database.begin() as s:
        submit_consultation(s, **arguments)


# --- access codes ----------------------------------------------------------------------------------
def test_access_codes_have_at_least_128_bits() -> None:
    issued = {codes.new_access_code() for _ in range(2000)}
    assert len(issued) == 2000
    assert len(codes.ALPHABET) == len(set(codes.ALPHABET)) == 32 and codes.CODE_BITS >= 128
    for code in issued:
        groups = code.split("-")
        assert all(len(g) == 4 for g in groups) and len("".join(groups)) == codes.CODE_SYMBOLS
        assert set("".join(groups)) <= set(codes.ALPHABET)
    # every symbol is used, so the alphabet really carries 5 bits per position
    assert set("".join(issued).replace("-", "")) == set(codes.ALPHABET)


def test_code_stored_only_as_hash(database: Database) -> None:
    consultation, code = submit(database)
    with database.session() as s:
        row = s.execute(select(Consultation.__table__).where(Consultation.id == consultation.id)).one()
    canonical = code.replace("-", "")
    assert not any(isinstance(v, str) and (code in v or canonical in v) for v in row)
    assert len(row.access_code_hash) == 64


def test_lookup_by_code_sees_own_consultation_only(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    alice = clinicians[0]
    mine, my_code = submit(database)
    theirs, their_code = submit(database)
    with database.begin() as s:
        claim(s, theirs.id, alice)
        record_review(s, theirs.id, alice, "seborrheic_dermatitis", "Use the shampoo twice a week.")
    def seen(view: PatientView | None) -> tuple | None:
        return None if view is None else (view.status, view.diagnosis, view.notes)

    with database.begin() as s:
        assert seen(lookup_by_code(s, my_code)) == ("submitted", None, None)
        review_time = s.get(Consultation, theirs.id).reviewed_at
        view = lookup_by_code(s, their_code)
        assert seen(view) == ("reviewed", "seborrheic_dermatitis", "Use the shampoo twice a week.")
        assert view.reviewed_at == review_time and view.free_text == HISTORY.get("free_text")
        assert len(view.photos) == 1 and view.photos[0].startswith(b"\x89PNG")  # the patient's own stored photo
        # what patients mistype still works
        assert seen(lookup_by_code(s, my_code.lower().replace("-", " ").replace("0", "O"))) == ("submitted", None, None)
        assert lookup_by_code(s, codes.new_access_code()) is None
        assert lookup_by_code(s, my_code[:-1]) is None
        assert lookup_by_code(s, "") is None
    # never the clinician's name or anything about other patients
    assert [f.name for f in fields(PatientView)] == ["status", "diagnosis", "notes", "reviewed_at", "submitted_at",
                                                     "photos", "free_text"]


def test_pepper_from_env_changes_hashes(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    _, code = submit(database)
    monkeypatch.setenv("SCALPSCOPE_CODE_PEPPER", "another-secret")
    with database.begin() as s:
        assert lookup_by_code(s, code) is None
    monkeypatch.delenv("SCALPSCOPE_CODE_PEPPER")
    with database.begin() as s:
        assert lookup_by_code(s, code) is not None


# --- queue -----------------------------------------------------------------------------------------
def test_triage_rule() -> None:
    """priority = minus the due minute: submit + 24 h (out of scope, severe itch), 48 h (uncertain or no
    prediction), 72 h otherwise; P(psoriasis) plays no part."""
    t = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    minute = int((t - datetime(1970, 1, 1, tzinfo=timezone.utc)).total_seconds() // 60)
    assert compute_triage([new_prediction(0.2, out_of_scope=True)], created_at=t).priority == -(minute + 24 * 60)
    assert compute_triage([new_prediction(0.9, uncertain=True), new_prediction(0.3)], created_at=t).priority == -(
        minute + 48 * 60)
    assert compute_triage([new_prediction(0.3), None], created_at=t).priority == -(minute + 48 * 60)
    assert compute_triage([None], created_at=t).priority == -(minute + 48 * 60)
    assert compute_triage([new_prediction(0.95)], created_at=t).priority == -(minute + 72 * 60)
    assert compute_triage([new_prediction(0.05)], created_at=t).priority == -(minute + 72 * 60)
    assert compute_triage([new_prediction(0.5)], created_at=t, itch="severe").priority == -(minute + 24 * 60)
    # a routine case that has waited 14 days is due before a flagged case submitted a minute ago
    old = compute_triage([new_prediction(0.1)], created_at=t - timedelta(days=14)).priority
    assert old > compute_triage([new_prediction(0.9, out_of_scope=True)], created_at=t).priority


def make_queue(database: Database) -> list[Consultation]:
    """Ten consultations with ties on priority and on submit time."""
    t0 = utcnow() - timedelta(hours=10)
    specs = [
        (new_prediction(0.8), 0),
        (new_prediction(0.8), 1),
        (new_prediction(0.8), 1),
        (new_prediction(0.2), 2),
        (new_prediction(0.6, uncertain=True), 3),
        (new_prediction(0.4, uncertain=True), 0),
        (new_prediction(0.1, out_of_scope=True), 5),
        (new_prediction(0.99), 6),
        (new_prediction(0.8), 7),
        (new_prediction(0.5, out_of_scope=True, uncertain=True), 9),
    ]
    return [submit(database, p, now=t0 + timedelta(hours=h))[0] for p, h in specs]


def test_queue_order_and_keyset_pagination(database: Database) -> None:
    made = make_queue(database)
    expected = [c.id for c in sorted(made, key=lambda c: (-c.priority, c.created_at, c.id))]
    # due = submit + 24 h (out of scope), 48 h (uncertain), 72 h: hours 29, 33, 48, 51, 72, 73, 73, 74, 78, 79
    assert [made[i].id for i in (6, 9, 5, 4, 0, 1, 2, 3, 7, 8)] == expected  # the rule, spelled out
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        with database.begin() as s:
            page = list_queue(s, limit=3, after=cursor)
        seen += [c.id for c in page.items]
        if page.next_cursor is None:
            break
        cursor = QueueCursor.decode(page.next_cursor.encode())
    assert seen == expected
    with database.begin() as s:
        assert [c.id for c in list_queue(s, limit=10).items] == expected
        assert list_queue(s, limit=10).next_cursor is None


def test_queue_filters_and_counts(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    made = make_queue(database)
    with database.begin() as s:
        claim(s, made[7].id, clinicians[0])
        assert {c.id for c in list_queue(s, out_of_scope_only=True).items} == {made[6].id, made[9].id}
        assert {c.id for c in list_queue(s, uncertain_only=True).items} == {made[4].id, made[5].id, made[9].id}
        waited = list_queue(s, min_wait=timedelta(hours=9, minutes=30)).items
        assert {c.id for c in waited} == {made[0].id, made[5].id}
        in_review = list_queue(s, statuses=["in_review"]).items
        assert [c.id for c in in_review] == [made[7].id] and in_review[0].claimed_by.username == "alice"
        assert queue_counts(s) == {"submitted": 9, "in_review": 1, "awaiting_patient": 0, "reviewed": 0, "closed": 0}
    with pytest.raises(ValidationError):
        QueueCursor.decode("not-a-cursor")


# --- transitions -----------------------------------------------------------------------------------
def test_transitions_and_invalid_ones(database: Database, clinicians) -> None:  # type: ignore[no-untyped-def]
    alice, bob, admin = clinicians
    consultation, _ = submit(database)
    cid = consultation.id

    def attempt(fn, *args):  # type: ignore[no-untyped-def]
        with database.begin() as s:
            return fn(s, cid, *args)

    with pytest.raises(InvalidTransitionError, match="'submitted' and cannot become 'reviewed'"):
        attempt(record_review, alice, "psoriasis")
    with pytest.raises(InvalidTransitionError):
        attempt(close, alice)
    claimed = attempt(claim, alice)
    assert claimed.status == "in_review" and claimed.claimed_by_id == alice.id and claimed.claimed_at
    with pytest.raises(InvalidTransitionError, match="in_review"):
        attempt(claim, bob)
    with pytest.raises(InvalidTransitionError, match="claimed by another clinician"):
        attempt(record_review, bob, "psoriasis")
    with pytest.raises(InvalidTransitionError):
        attempt(release, bob)
    assert attempt(release, alice).status == "submitted"
    attempt(claim, bob)
    with pytest.raises(ValidationError, match="Diagnosis"):
        attempt(record_review, bob, "eczema")
    review = attempt(record_review, admin, "needs_in_person_visit", "Please see your GP.", False)
    assert review.clinician_id == admin.id and review.agrees_with_ai is False
    with pytest.raises(InvalidTransitionError):
        attempt(record_review, bob, "psoriasis")
    closed = attempt(close, alice)
    assert closed.status == "closed" and closed.closed_at and closed.reviewed_at
    assert closed.updated_at >= closed.reviewed_at
    with pytest.raises(InvalidTransitionError):
        attempt(close, alice)
    with pytest.raises(NotFoundError), database.begin() as s:
        claim(s, cid + 999, alice)
    with pytest.raises(NotFoundError), database.begin() as s:
        get_consultation_for_clinician(s, "no-such-id", alice)
    with database.begin() as s:
        assert queue_counts(s)["closed"] == 1
