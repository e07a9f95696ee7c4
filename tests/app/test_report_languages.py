"""pages/_report.py in Chinese: the PDFs embed the Unicode font and draw real glyphs (rendered with PDFium),
their words come from the catalog, and a dermatologist's Chinese notes reach an English reader as written."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from PIL import Image

from pages import _report as report
from pages._report import PhotoSummary, conclusion_pdf, summary_pdf
from scalp_model.serving.preprocess import sanitized_bytes
from tests.factories import photo_array

pdfium = pytest.importorskip("pypdfium2", reason="pypdfium2 renders the PDFs (requirements-dev.txt)")
CODE = "7KQ2-M9XD-4TRB-0ZHV-N3WC-8PGF-6YJS"
WHEN = datetime(2026, 12, 5, 9, 30, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _font() -> None:
    if report.unicode_font() is None:
        pytest.skip("the PDF's Unicode font (SCALPSCOPE_PDF_FONT, Debian's fonts-wqy-microhei) is not installed: "
                    "apt-get install fonts-wqy-microhei, or ./scalpscope install")


def pages_of(pdf: bytes) -> list:
    return list(pdfium.PdfDocument(pdf))


def text_of(pdf: bytes) -> str:
    return "\n".join(page.get_textpage().get_text_range() for page in pages_of(pdf))


def rendered(text: str) -> np.ndarray:
    """One line of ``text`` in a PDF of its own, rendered in grey levels, cropped to its first line."""
    document = report._Document("glyphs", embed=True)
    document.line(text, 24, height=12)
    page = pages_of(bytes(document.pdf.output()))[0]
    picture = page.render(scale=2).to_pil().convert("L")
    return np.asarray(picture)[:120, :700]


def test_the_chinese_summary_embeds_the_font_and_reads_back() -> None:
    jpeg, _ = sanitized_bytes(Image.fromarray(photo_array(320, 240)))
    pdf = summary_pdf(created=WHEN, access_code=CODE, history={"年龄": "18–39", "瘙痒": "中度"},
                      photos=[PhotoSummary(jpeg, jpeg, 0.62, "这不是诊断。")], model_version="test-tiny",
                      consent_version="2026-11-zh_CN", language="zh_CN")
    assert b"/FontFile2" in pdf and b"WenQuanYi" in pdf  # embedded (subset), not a system font reference
    text = text_of(pdf)
    assert text.splitlines()[0].strip() == f"访问码：{CODE}"  # still the first line (issue 18)
    for words in ("ScalpScope - 问诊摘要", "2026年12月5日 09:30 UTC", "2026-11-zh_CN", "您提供的信息", "瘙痒：中度",
                  "照片 1", "计算机估计：银屑病约60%，脂溢性皮炎约40%", "这不是诊断。"):
        assert words in text.replace("\r", ""), words
    assert "Access code" not in text and "What you told us" not in text


def test_chinese_glyphs_are_drawn_not_boxes_or_blank() -> None:
    """Each character is drawn with its own shape: two different words render differently and with ink; a
    missing glyph (.notdef box) or a blank would make them equal or empty."""
    one, two, blank = rendered("银屑病"), rendered("脂溢性"), rendered(" ")
    ink_one, ink_two = (one < 128).sum(), (two < 128).sum()
    assert (blank < 128).sum() == 0
    assert ink_one > 300 and ink_two > 300, (ink_one, ink_two)
    assert (np.abs(one.astype(int) - two.astype(int)) > 64).sum() > 200  # not the same box twice
    assert (rendered("银屑病银屑病") < 128).sum() > 1.8 * ink_one  # each character drawn, not one mark


def test_notes_in_chinese_reach_an_english_reader_as_written() -> None:
    pdf = conclusion_pdf(diagnosis_label="Psoriasis", diagnosis="psoriasis", notes="每周用两次药用洗发水。",
                         reviewed_at=WHEN, submitted_at=WHEN, free_text=None, photos=[], language="en")
    text = text_of(pdf).replace("\r", "")
    assert "每周用两次药用洗发水。" in text and "Notes from the dermatologist" in text and "Next steps" in text


def test_english_stays_on_the_core_fonts() -> None:
    pdf = summary_pdf(created=WHEN, access_code=CODE, history={"Age": "18–39"}, photos=[],
                      model_version="test-tiny", consent_version="2026-11-en", language="en")
    assert b"/FontFile2" not in pdf and "Access code: " + CODE in text_of(pdf)
