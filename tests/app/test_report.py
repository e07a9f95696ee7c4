"""pages/_report.py: the patient's PDF summary."""
from __future__ import annotations

from datetime import datetime, timezone

from PIL import Image

from pages._report import PhotoSummary, summary_filename, summary_pdf
from scalp_model.serving.preprocess import sanitized_bytes
from tests.factories import photo_array

CODE = "7KQ2-M9XD-4TRB-0ZHV-N3WC-8PGF-6YJS"


def test_pdf_summary_with_photos_and_unicode():
    jpeg, _ = sanitized_bytes(Image.fromarray(photo_array(320, 240)))
    photos = [PhotoSummary(jpeg, None, 0.81, "Looks more like **psoriasis** — not a diagnosis."),
              PhotoSummary(jpeg, jpeg, 0.12, "Uncertain · see the dermatologist ≥ soon.")]
    pdf = summary_pdf(created=datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc), access_code=CODE,
                      history={"Age": "18–39", "Itch": "mild", "Sex": None}, photos=photos * 2,
                      model_version="test-tiny", consent_version="2026-11")
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(pdf) > 5000  # the pictures are embedded


def test_file_name_never_carries_the_code():
    name = summary_filename(datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc))
    assert name == "scalpscope-summary-20261124-0930.pdf"
