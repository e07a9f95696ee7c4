"""The patient's PDF summary of a submitted consultation (fpdf2, core fonts, no Streamlit).

Its first line is the access code (issue 18, item 4): whatever else the patient reads or prints, the code
is at the top.

Candidate for ``scalp_model/`` or a ``reports/`` package later: it depends only on fpdf2 and Pillow.
The file name never contains the access code (see :func:`summary_filename`).
"""
from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from fpdf import FPDF
from PIL import Image

from pages._wording import NEXT_STEPS, about_percent

_LATIN1 = str.maketrans({"—": "-", "–": "-", "’": "'", "‘": "'", "“": '"', "”": '"', "·": "-",
                         "…": "...", "×": "x", "≥": ">=", "≤": "<="})
DISCLAIMER = ("ScalpScope is not a diagnosis and not for emergencies. The computer estimate only helps the "
              "dermatologist sort photos; the dermatologist's conclusion is what counts. If your symptoms "
              "get worse quickly, or you feel unwell, see a doctor in person.")


@dataclass(frozen=True)
class PhotoSummary:
    photo_jpeg: bytes
    overlay_png: bytes | None
    p_psoriasis: float
    message: str
    out_of_scope: bool = False  # then no estimate is printed, only the message


def _text(value: str) -> str:
    """Core PDF fonts are Latin-1 only; markdown emphasis is dropped."""
    return value.replace("**", "").translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")


def _picture(data: bytes, max_side: int = 800) -> tuple[Image.Image, float]:
    """A small RGB copy for embedding (fpdf2 re-encodes it as JPEG) and its height/width ratio."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image.thumbnail((max_side, max_side))
    return image, image.height / image.width


def summary_filename(created: datetime) -> str:
    return f"scalpscope-summary-{created:%Y%m%d-%H%M}.pdf"


KEEP_PRIVATE = ("Keep this code private: anyone who has it can read the dermatologist's conclusion. "
                "Enter it on the 'My consultation' page of ScalpScope to see the status.")


def _started(title: str, access_code: str) -> tuple[FPDF, float]:
    """A new A4 document whose first line is the access code, then the advice to keep it private."""
    pdf = FPDF(format="A4")
    pdf.set_title(title)
    pdf.set_creator("ScalpScope")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_image_filter("DCTDecode")  # photos as JPEG: a few hundred kB, not megabytes
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("Courier", "B", 13)
    pdf.cell(width, 9, _text(f"Access code: {access_code}"), border=1, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(width, 5.5, _text(KEEP_PRIVATE), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    return pdf, width


def summary_pdf(*, created: datetime, access_code: str, history: Mapping[str, str | None],
                photos: Sequence[PhotoSummary], model_version: str, consent_version: str) -> bytes:
    pdf, width = _started("ScalpScope consultation summary", access_code)

    def line(text: str, size: int = 10, style: str = "", height: float = 5.5) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(width, height, _text(text), new_x="LMARGIN", new_y="NEXT")

    line("ScalpScope - consultation summary", 16, "B", 9)
    line(f"Submitted {created:%d %B %Y, %H:%M} UTC. Consent version {consent_version}.")
    line(DISCLAIMER, 9, "I")
    pdf.ln(3)
    line("What you told us", 12, "B", 7)
    for name, value in history.items():
        if value:
            line(f"{name}: {value}", 9, height=5)
    side = (width - 10) / 2
    for index, photo in enumerate(photos, start=1):
        pictures = [_picture(photo.photo_jpeg)] + ([_picture(photo.overlay_png)] if photo.overlay_png else [])
        height = max(side * ratio for _, ratio in pictures)
        if pdf.get_y() + height + 40 > pdf.h - pdf.b_margin:
            pdf.add_page()
        pdf.ln(3)
        line(f"Photo {index}", 12, "B", 7)
        top = pdf.get_y()
        for column, (picture, ratio) in enumerate(pictures):
            pdf.image(picture, x=pdf.l_margin + column * (side + 10), y=top, w=side, h=side * ratio)
        pdf.set_y(top + height + 3)
        if not photo.out_of_scope:
            line(f"Computer estimate: psoriasis {about_percent(photo.p_psoriasis)}, seborrheic dermatitis "
                 f"{about_percent(1 - photo.p_psoriasis)} (model {model_version}).", 10, "B")
        line(photo.message, 9)
        if photo.overlay_png:
            line("Right: the areas that weighed most in the estimate (not a map of the disease).", 8)
    return bytes(pdf.output())


def conclusion_filename(reviewed: datetime) -> str:
    return f"scalpscope-conclusion-{reviewed:%Y%m%d}.pdf"


def conclusion_pdf(*, diagnosis_label: str, diagnosis: str, notes: str | None, reviewed_at: datetime | None,
                   submitted_at: datetime | None, free_text: str | None, photos: Sequence[bytes]) -> bytes:
    """The dermatologist's conclusion for the patient: dates, conclusion, notes, next steps, what the
    patient wrote and their photos. No access code and no clinician name."""
    pdf = FPDF(format="A4")
    pdf.set_title("ScalpScope - the dermatologist's conclusion")
    pdf.set_creator("ScalpScope")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_image_filter("DCTDecode")
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def line(text: str, size: int = 10, style: str = "", height: float = 5.5) -> None:
        pdf.set_font("Helvetica", style, size)
        pdf.multi_cell(width, height, _text(text), new_x="LMARGIN", new_y="NEXT")

    line("ScalpScope - the dermatologist's conclusion", 16, "B", 9)
    if submitted_at is not None:
        line(f"Photos sent {submitted_at:%d %B %Y}.")
    if reviewed_at is not None:
        line(f"Reviewed by a dermatologist on {reviewed_at:%d %B %Y, %H:%M} UTC.")
    pdf.ln(2)
    line(f"Conclusion: {diagnosis_label}", 12, "B", 7)
    if notes:
        line("Notes from the dermatologist", 11, "B", 6)
        line(notes)
    if diagnosis in NEXT_STEPS:
        line("Next steps", 11, "B", 6)
        line(NEXT_STEPS[diagnosis])
    if free_text:
        pdf.ln(2)
        line("What you wrote", 11, "B", 6)
        line(free_text, 9)
    line(DISCLAIMER, 8, "I")
    side = (width - 10) / 2
    for photo in photos:  # one below the other, half the page wide
        picture, ratio = _picture(photo)
        if pdf.get_y() + side * ratio + 6 > pdf.h - pdf.b_margin:
            pdf.add_page()
        top = pdf.get_y() + 3
        pdf.image(picture, x=pdf.l_margin, y=top, w=side, h=side * ratio)
        pdf.set_y(top + side * ratio)
    return bytes(pdf.output())

