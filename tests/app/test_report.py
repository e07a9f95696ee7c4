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


def test_the_summary_starts_with_the_access_code():
    """Issue 18, item 4: the code is the PDF's first line (it came after the title, the date and the
    disclaimer), and the file name still does not carry it."""
    from testing.pages import pdf_lines

    pdf = summary_pdf(created=datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc), access_code=CODE,
                      history={"Age": "18–39"}, photos=[], model_version="test-tiny", consent_version="2026-11")
    lines = pdf_lines(pdf)
    assert lines[0] == f"Access code: {CODE}" and "ScalpScope - consultation summary" in lines[1:]


def test_people_s_own_asterisks_are_printed_as_written_and_the_app_s_bold_is_not() -> None:
    """A tester typed "**markdown**" as a patient and "Use **clobetasol** shampoo" as the dermatologist: the PDFs
    printed them without the asterisks, changing what was written. The app's own markdown bold still goes."""
    from pages._report import conclusion_pdf
    from testing.pages import pdf_lines

    summary = pdf_lines(summary_pdf(
        created=datetime(2026, 11, 24, 9, 30, tzinfo=timezone.utc), access_code=CODE,
        history={"What you wrote": "it itches **a lot**"}, model_version="test-tiny", consent_version="2026-11",
        photos=[PhotoSummary(sanitized_bytes(Image.fromarray(photo_array(64, 48)))[0], None, 0.81,
                             "Looks more like **psoriasis**.")]))
    assert "What you wrote: it itches **a lot**" in summary
    assert any("Looks more like psoriasis." in line for line in summary)
    conclusion = " ".join(pdf_lines(conclusion_pdf(
        diagnosis_label="Other: **tinea**", diagnosis="other", notes="Use **clobetasol** shampoo",
        reviewed_at=None, submitted_at=None, free_text="**flakes**", photos=[])))
    assert "Use **clobetasol** shampoo" in conclusion and "**flakes**" in conclusion
    assert "Other: **tinea**" in conclusion
