"""clinic.submit: a photo is decoded once, and a submission is stored and audited as one unit of work."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

import clinic.photos
from clinic.photos import STORED_SIDE, read_photo
from clinic.submit import Upload, submit_consultation
from db.consultations import CONSENT_VERSION, Submission
from db.engine import Database
from db.models import AuditEvent, Consultation, ConsultImage, Prediction
from scalp_model.serving.preprocess import WORKING_SIZE
from tests.factories import photo_array

HISTORY = {"image_source": "phone", "age_band": "18–39", "itch": "mild", "free_text": "Flakes in winter."}


def jpeg(width: int = 1200, height: int = 900, *, gps: bool = False) -> bytes:
    picture = Image.fromarray(photo_array(width, height))
    exif = Image.Exif()
    if gps:
        exif[0x8825] = {1: "N", 2: (52.0, 22.0, 0.0)}  # GPS IFD: a location the stored copy must not keep
        exif[0x010F] = "PhoneMaker"
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=90, exif=exif)
    return buffer.getvalue()


def row_counts(database: Database) -> list[int]:
    with database.session() as s:
        return [s.scalar(select(func.count()).select_from(m)) for m in (Consultation, ConsultImage, Prediction,
                                                                          AuditEvent)]


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Bytes lengths of every decode_image call the application layer makes."""
    calls: list[int] = []
    real = clinic.photos.decode_image

    def counting(data: bytes, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(len(data))
        return real(data, **kwargs)

    monkeypatch.setattr(clinic.photos, "decode_image", counting)
    return calls


def test_each_photo_is_decoded_once_and_stored_with_the_models_record(database, predictor, decodes) -> None:
    uploads = [Upload(jpeg(), "upload"), Upload(jpeg(800, 600), "camera")]
    submitted = submit_consultation(HISTORY, uploads, CONSENT_VERSION, database=database, predictor=predictor)
    assert decodes == [len(u.data) for u in uploads]  # once each, not again for the stored copy
    assert predictor.calls == 2
    with database.session() as s:
        stored = s.scalar(select(Consultation).where(Consultation.public_id == submitted.public_id))
        rows = sorted(stored.images, key=lambda i: i.position)
        assert [i.capture["source"] for i in rows] == ["upload", "camera"]
        for row, analysis in zip(rows, submitted.analyses, strict=True):
            record, kept = analysis.prediction, row.prediction
            assert (kept.p_psoriasis, kept.label, kept.threshold, kept.model_version, kept.model_sha256) == (
                record.p_psoriasis, record.label, record.threshold, record.model_version, record.model_sha256)
            assert kept.latency_ms == pytest.approx(sum(record.timings_ms.values()))
            assert kept.overlay_png[:8] == b"\x89PNG\r\n\x1a\n"
        assert (rows[0].width, rows[0].height) == (1200, 900)
        assert stored.consent_version == CONSENT_VERSION


def test_photos_read_for_the_preview_are_not_decoded_again(database, predictor, decodes) -> None:
    photos = [read_photo(jpeg(), "upload")]
    assert len(decodes) == 1
    submit_consultation(HISTORY, photos, CONSENT_VERSION, database=database, predictor=predictor)
    assert len(decodes) == 1
    assert row_counts(database)[:3] == [1, 1, 1]


def test_read_photo_derives_both_copies_and_strips_metadata(decodes) -> None:
    photo = read_photo(jpeg(3000, 2000, gps=True), "camera")
    assert len(decodes) == 1
    assert photo.stored_size == (STORED_SIDE, 1365)
    assert max(photo.decoded.image.size) == WORKING_SIZE and photo.decoded.original_size == (3000, 2000)
    with Image.open(io.BytesIO(photo.stored)) as kept:
        assert kept.format == "JPEG" and kept.size == photo.stored_size
        assert not kept.getexif() and "exif" not in kept.info and "icc_profile" not in kept.info
    assert photo.capture()["source"] == "camera" and "quality" in photo.capture()


def test_a_failure_mid_way_stores_nothing(database, predictor, monkeypatch) -> None:
    import db.consultations.submit as store

    def audit_fails(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("audit write failed after the rows were flushed")

    monkeypatch.setattr(store.audit, "record", audit_fails)
    with pytest.raises(RuntimeError, match="audit write failed"):
        submit_consultation(HISTORY, [Upload(jpeg()), Upload(jpeg(640, 480))], CONSENT_VERSION,
                            database=database, predictor=predictor)
    monkeypatch.undo()
    assert row_counts(database) == [0, 0, 0, 0]  # no consultation, no photo, no prediction, no audit row


def test_a_model_failure_on_the_second_photo_stores_nothing(database, predictor, monkeypatch) -> None:
    real = predictor.predict

    def second_fails(image):  # type: ignore[no-untyped-def]
        if predictor.calls == 1:
            raise RuntimeError("engine failed")
        return real(image)

    monkeypatch.setattr(predictor, "predict", second_fails)
    with pytest.raises(RuntimeError, match="engine failed"):
        submit_consultation(HISTORY, [Upload(jpeg()), Upload(jpeg())], CONSENT_VERSION, database=database,
                            predictor=predictor)
    assert row_counts(database) == [0, 0, 0, 0]


def test_a_repeated_submission_returns_the_stored_consultation(database, predictor) -> None:
    submission = Submission.new()
    first = submit_consultation(HISTORY, [Upload(jpeg())], CONSENT_VERSION, database=database,
                                predictor=predictor, submission=submission)
    again = submit_consultation(HISTORY, [Upload(jpeg())], CONSENT_VERSION, database=database,
                                predictor=predictor, submission=submission)
    assert again.public_id == first.public_id and again.code == first.code == submission.access_code
    assert row_counts(database)[:2] == [1, 1]
