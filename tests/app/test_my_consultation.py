"""My consultation page: status by access code, the conclusion once reviewed, nothing for a wrong code."""
from __future__ import annotations

import pytest

from db.consultations import claim, record_review
from db.models import Consultation
from tests.app.conftest import assert_clean, seed_consultation, texts

PAGE = "pages/my_consultation.py"


def look_up(at, code: str):
    at.switch_page(PAGE).run()
    at.text_input(key="my_code").input(code)
    return at.button(key="FormSubmitter:lookup-Show my consultation").click().run()


@pytest.mark.parametrize("code", ["", "nonsense", "0000-0000-0000-0000-0000-0000-0000"])
def test_wrong_code_reveals_nothing(at, database, code):
    seed_consultation(database)
    look_up(at, code)
    assert_clean(at)
    assert texts(at.error) == ["No consultation matches this access code. Check the code and try again."]
    assert not at.subheader


def test_waiting_consultation(at, database):
    _, code = seed_consultation(database)
    look_up(at, code.lower().replace("-", " "))  # typed casually
    assert_clean(at)
    assert texts(at.subheader) == ["Received — waiting for a dermatologist"]
    assert any("not written a conclusion yet" in i for i in texts(at.info))


def test_reviewed_consultation_shows_conclusion_and_notes(at, database, clinician):
    public_id, code = seed_consultation(database)
    with database.begin() as session:
        consultation_id = session.query(Consultation.id).filter_by(public_id=public_id).scalar()
        claim(session, consultation_id, clinician)
        record_review(session, consultation_id, clinician, "needs_in_person_visit", "**Please** come in.", False)
    look_up(at, code)
    assert_clean(at)
    assert texts(at.subheader) == ["Reviewed by a dermatologist"]
    assert any("Needs an in-person visit" in m for m in texts(at.markdown))
    assert texts(at.text) == ["**Please** come in."]  # shown as text, never rendered as Markdown
    assert any("book an appointment" in w for w in texts(at.warning))


def test_after_a_review_the_patient_sees_dates_photos_next_steps_and_a_pdf(at, database, clinician, monkeypatch):
    """Issue 18, item 10: no review date, no photos, no next steps; the patient's own text and a PDF of
    the conclusion were missing."""
    from fpdf import FPDF

    from pages import _report

    class Uncompressed(FPDF):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.set_compression(False)

    monkeypatch.setattr(_report, "FPDF", Uncompressed)
    public_id, code = seed_consultation(database, images=2, free_text="Itches after [washing](x).")
    with database.begin() as session:
        consultation_id = session.query(Consultation.id).filter_by(public_id=public_id).scalar()
        claim(session, consultation_id, clinician)
        record_review(session, consultation_id, clinician, "seborrheic_dermatitis", "Shampoo twice a week.")
        reviewed_at = session.get(Consultation, consultation_id).reviewed_at
    look_up(at, code)
    assert_clean(at)
    assert any(f"reviewed on {reviewed_at:%d %B %Y, %H:%M} UTC" in c for c in texts(at.caption))
    assert any("anti-fungal shampoo" in m for m in texts(at.markdown))  # next steps for this conclusion
    assert texts(at.text) == ["Shampoo twice a week.", "Itches after [washing](x)."]  # both as plain text
    assert len(at.image) == 2
    download = at.get("download_button")[0]
    assert download.proto.label == "Download the conclusion (PDF)" and download.proto.url
    pdf = _report.conclusion_pdf(diagnosis_label="Seborrheic dermatitis", diagnosis="seborrheic_dermatitis",
                                 notes="Shampoo twice a week.", reviewed_at=reviewed_at, submitted_at=reviewed_at,
                                 free_text="Itches after [washing](x).", photos=[])
    assert b"Itches after [washing]" in pdf and b"Next steps" in pdf and b"dr.who" not in pdf


def test_the_summary_pdf_keeps_the_patients_own_words(at, fake_predictor, monkeypatch):
    """Issue 18, item 10: the PDF made at submission left out what the patient wrote."""
    from pages import _report
    from tests.app.test_new_consultation import add_photos, jpeg, open_page, submit

    histories = []
    real = _report.summary_pdf

    def spy(**kwargs):
        histories.append(kwargs["history"])
        return real(**kwargs)

    monkeypatch.setattr(_report, "summary_pdf", spy)
    open_page(at)
    at.text_area(key="nc_text").input("Itches after washing.")
    add_photos(at, jpeg())
    submit(at)
    assert_clean(at)
    assert histories and histories[0]["In your words"] == "Itches after washing."


def test_the_code_stays_in_the_field_after_a_search(at, database):
    """Issue 18, item 4 (part): the look-up field was cleared after each search, so a mistyped code of 28
    characters had to be typed again from the start."""
    _, code = seed_consultation(database)
    look_up(at, code[:-1])
    assert texts(at.error) and at.text_input(key="my_code").value == code[:-1]
    at.text_input(key="my_code").input(code)
    at.button(key="FormSubmitter:lookup-Show my consultation").click().run()
    assert texts(at.subheader) == ["Received — waiting for a dermatologist"]
    assert at.text_input(key="my_code").value == code
