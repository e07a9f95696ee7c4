"""The patient's PDFs: the summary of a submitted consultation and the dermatologist's conclusion (fpdf2,
no Streamlit), in the language they are asked for.

The summary's first line is the access code (issue 18, item 4): whatever else the patient reads or prints,
the code is at the top. The file name never contains the access code (see :func:`summary_filename`).

English text written in Latin-1 uses the PDF core fonts (nothing embedded). Any other language, or text
that is not Latin-1 (a dermatologist's notes in Chinese reach an English reader as written), embeds the
Unicode font ``SCALPSCOPE_PDF_FONT`` (Debian's WenQuanYi Micro Hei: Chinese and Latin glyphs), subset to
the characters used. Without that font such text falls back to the core fonts with "?" for what they lack.

Candidate for a ``reports/`` package later: it depends only on fpdf2, Pillow and ``i18n``.
"""
from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import WrapMode
from PIL import Image

from config import app as app_settings
from i18n import DEFAULT, N_, current_language, gettext
from i18n.formats import date_time_utc, long_date
from pages._wording import NEXT_STEPS, about_percent

log = logging.getLogger("scalpscope.app")

_LATIN1 = str.maketrans({"—": "-", "–": "-", "’": "'", "‘": "'", "“": '"', "”": '"', "·": "-",
                         "…": "...", "×": "x", "≥": ">=", "≤": "<="})
DISCLAIMER = N_("ScalpScope is not a diagnosis and not for emergencies. The computer estimate only helps the "
                "dermatologist sort photos; the dermatologist's conclusion is what counts. If your symptoms "
                "get worse quickly, or you feel unwell, see a doctor in person.")
KEEP_PRIVATE = N_("Keep this code private: anyone who has it can read the dermatologist's conclusion. "
                  "Enter it on the 'My consultation' page of ScalpScope to see the status.")
UNICODE = "unicode"  # the embedded font's family name in the document (regular, bold and italic: one face)


@dataclass(frozen=True)
class PhotoSummary:
    photo_jpeg: bytes
    overlay_png: bytes | None
    p_psoriasis: float
    message: str
    out_of_scope: bool = False  # then no estimate is printed, only the message


def _latin1(value: str) -> str:
    """Text for the core PDF fonts (Latin-1 only)."""
    return value.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")


def _without_emphasis(template: str) -> str:
    """The app's own words without their markdown bold markers (the PDF sets its own styles). Never applied to
    what people wrote: a patient's or a dermatologist's ``**`` is printed as written."""
    return template.replace("**", "")


def _is_latin1(value: str) -> bool:
    try:
        value.translate(_LATIN1).encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def unicode_font() -> Path | None:
    """``SCALPSCOPE_PDF_FONT`` when the file exists, else None."""
    path = app_settings.PDF_FONT.get()
    return path if path is not None and Path(path).is_file() else None


class _Document:
    """An A4 fpdf2 document writing with the core fonts or the embedded Unicode font."""

    def __init__(self, title: str, embed: bool, language: str = DEFAULT) -> None:
        self.pdf = pdf = FPDF(format="A4")
        pdf.set_title(title)
        pdf.set_creator("ScalpScope")
        pdf.set_auto_page_break(auto=True, margin=15)
        pdf.set_image_filter("DCTDecode")  # photos as JPEG: a few hundred kB, not megabytes
        font = unicode_font() if embed else None
        if embed and font is None:
            log.warning("PDF font %s is missing: non-Latin text is written with '?'", app_settings.PDF_FONT.get())
        self.unicode = font is not None
        if font is not None:
            for style in ("", "B", "I"):  # one face for every style: fpdf2 needs each style declared
                pdf.add_font(UNICODE, style, str(font))
            pdf.add_font(f"{UNICODE}-mono", "", str(font), collection_font_number=1 if font.suffix == ".ttc" else 0)
        pdf.add_page()
        self.width = pdf.w - pdf.l_margin - pdf.r_margin
        # Chinese has no spaces between words: lines break between any two characters (a short Latin word
        # such as ScalpScope would otherwise stand alone on a line before a long Chinese run).
        # Justified lines would stretch the one space between a Latin word and the Chinese run: aligned left.
        self.wrap = WrapMode.CHAR if language.startswith("zh") else WrapMode.WORD
        self.align = "L" if language.startswith("zh") else "J"

    def text(self, value: str, verbatim: bool = False) -> str:
        """``value`` as the document's font can print it; the app's markdown bold dropped unless ``verbatim``
        (people's own words, or a template already passed through :func:`_without_emphasis`)."""
        value = value if verbatim else _without_emphasis(value)
        return value if self.unicode else _latin1(value)

    def line(self, text: str, size: int = 10, style: str = "", height: float = 5.5, verbatim: bool = False) -> None:
        self.pdf.set_font(UNICODE if self.unicode else "Helvetica", style, size)
        self.pdf.multi_cell(self.width, height, self.text(text, verbatim), new_x="LMARGIN", new_y="NEXT",
                            wrapmode=self.wrap, align=self.align)

    def code(self, text: str) -> None:
        """The access code in a box, monospaced."""
        if self.unicode:
            self.pdf.set_font(f"{UNICODE}-mono", "", 13)
        else:
            self.pdf.set_font("Courier", "B", 13)
        self.pdf.cell(self.width, 9, self.text(text), border=1, align="C", new_x="LMARGIN", new_y="NEXT")


def _needs_unicode(language: str, *texts: str | None) -> bool:
    return language != DEFAULT or not all(_is_latin1(t) for t in texts if t)


def _picture(data: bytes, max_side: int = 800) -> tuple[Image.Image, float]:
    """A small RGB copy for embedding (fpdf2 re-encodes it as JPEG) and its height/width ratio."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    image.thumbnail((max_side, max_side))
    return image, image.height / image.width


def summary_filename(created: datetime) -> str:
    return f"scalpscope-summary-{created:%Y%m%d-%H%M}.pdf"


def summary_pdf(*, created: datetime, access_code: str, history: Mapping[str, str | None],
                photos: Sequence[PhotoSummary], model_version: str, consent_version: str,
                language: str | None = None) -> bytes:
    """The summary in ``language`` (default: the current session's); ``history``'s names and answers and the
    photos' messages come already in that language."""
    language = language or current_language()
    texts = [*history.keys(), *history.values(), *(photo.message for photo in photos)]
    doc = _Document(gettext("ScalpScope consultation summary", language), _needs_unicode(language, *texts), language)
    doc.code(gettext("Access code: {code}", language).format(code=access_code))
    doc.line(gettext(KEEP_PRIVATE, language), 9)
    doc.pdf.ln(3)
    doc.line(gettext("ScalpScope - consultation summary", language), 16, "B", 9)
    doc.line(gettext("Submitted {time}. Consent version {version}.", language).format(
        time=date_time_utc(created, language), version=consent_version))
    doc.line(gettext(DISCLAIMER, language), 9, "I")
    doc.pdf.ln(3)
    doc.line(gettext("What you told us", language), 12, "B", 7)
    for name, value in history.items():
        if value:
            doc.line(_without_emphasis(gettext("{name}: {value}", language)).format(name=name, value=value), 9,
                     height=5, verbatim=True)
    pdf, width = doc.pdf, doc.width
    side = (width - 10) / 2
    for index, photo in enumerate(photos, start=1):
        pictures = [_picture(photo.photo_jpeg)] + ([_picture(photo.overlay_png)] if photo.overlay_png else [])
        height = max(side * ratio for _, ratio in pictures)
        if pdf.get_y() + height + 40 > pdf.h - pdf.b_margin:
            pdf.add_page()
        pdf.ln(3)
        doc.line(gettext("Photo {number}", language).format(number=index), 12, "B", 7)
        top = pdf.get_y()
        for column, (picture, ratio) in enumerate(pictures):
            pdf.image(picture, x=pdf.l_margin + column * (side + 10), y=top, w=side, h=side * ratio)
        pdf.set_y(top + height + 3)
        if not photo.out_of_scope:
            doc.line(gettext("Computer estimate: psoriasis {pso}, seborrheic dermatitis {seb} (model {model}).",
                             language).format(pso=about_percent(photo.p_psoriasis, language),
                                              seb=about_percent(1 - photo.p_psoriasis, language),
                                              model=model_version), 10, "B")
        doc.line(photo.message, 9)
        if photo.overlay_png:
            doc.line(gettext("Right: the areas that weighed most in the estimate (not a map of the disease).",
                             language), 8)
    return bytes(pdf.output())


def conclusion_filename(reviewed: datetime) -> str:
    return f"scalpscope-conclusion-{reviewed:%Y%m%d}.pdf"


def conclusion_pdf(*, diagnosis_label: str, diagnosis: str, notes: str | None, reviewed_at: datetime | None,
                   submitted_at: datetime | None, free_text: str | None, photos: Sequence[bytes],
                   language: str | None = None) -> bytes:
    """The dermatologist's conclusion for the patient: dates, conclusion, notes, next steps, what the
    patient wrote and their photos. No access code and no clinician name. The patient's language
    (``language``, default the session's) for the words around them; the notes and what the patient wrote as
    they were written."""
    language = language or current_language()
    doc = _Document(gettext("ScalpScope - the dermatologist's conclusion", language),
                    _needs_unicode(language, diagnosis_label, notes, free_text), language)
    doc.line(gettext("ScalpScope - the dermatologist's conclusion", language), 16, "B", 9)
    if submitted_at is not None:
        doc.line(gettext("Photos sent {date}.", language).format(date=long_date(submitted_at, language)))
    if reviewed_at is not None:
        doc.line(gettext("Reviewed by a dermatologist on {time}.", language).format(
            time=date_time_utc(reviewed_at, language)))
    doc.pdf.ln(2)
    doc.line(_without_emphasis(gettext("Conclusion: {conclusion}", language)).format(conclusion=diagnosis_label),
             12, "B", 7, verbatim=True)
    if notes:
        doc.line(gettext("Notes from the dermatologist", language), 11, "B", 6)
        doc.line(notes, verbatim=True)
    if diagnosis in NEXT_STEPS:
        doc.line(gettext("Next steps", language), 11, "B", 6)
        doc.line(gettext(NEXT_STEPS[diagnosis], language))
    if free_text:
        doc.pdf.ln(2)
        doc.line(gettext("What you wrote", language), 11, "B", 6)
        doc.line(free_text, 9, verbatim=True)
    doc.line(gettext(DISCLAIMER, language), 8, "I")
    pdf, width = doc.pdf, doc.width
    side = (width - 10) / 2
    for photo in photos:  # one below the other, half the page wide
        picture, ratio = _picture(photo)
        if pdf.get_y() + side * ratio + 6 > pdf.h - pdf.b_margin:
            pdf.add_page()
        top = pdf.get_y() + 3
        pdf.image(picture, x=pdf.l_margin, y=top, w=side, h=side * ratio)
        pdf.set_y(top + side * ratio)
    return bytes(pdf.output())
