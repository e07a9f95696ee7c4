"""The verdict, the bar and the uncertain band show one decision rule (issue 18, item 1)."""
from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from pages import _views as views
from pages._report import PhotoSummary, summary_pdf
from pages._wording import about_percent
from tests.app.conftest import FakePredictor, assert_clean, texts
from tests.app.test_new_consultation import add_photos, jpeg, open_page, submit


@dataclass
class Stored:
    """The fields a stored prediction has (db.models.Prediction)."""

    p_psoriasis: float
    threshold: float
    uncertain: bool = False
    out_of_scope: bool = False


class ThresholdPredictor(FakePredictor):
    """The fake with the service's own threshold and uncertain band (the checkpoint's, e.g. 0.19 ± 0.1)."""

    threshold: float = 0.19
    band: float = 0.1

    def predict(self, image):
        prediction = super().predict(image)
        return replace(prediction, threshold=self.threshold, uncertain_band=self.band,
                       uncertain=self.uncertain or abs(self.p_psoriasis - self.threshold) < self.band)


@pytest.fixture
def predictor(monkeypatch):
    from pages import _resources as res

    fake = ThresholdPredictor()
    monkeypatch.setattr(res, "get_predictor", lambda: fake)
    return fake


@pytest.mark.parametrize(("p", "text"), [(0.0, "under 5%"), (0.024, "under 5%"), (0.031, "about 5%"),
                                         (0.31, "about 30%"), (0.69, "about 70%"), (0.5249, "about 50%"),
                                         (0.976, "over 95%"), (1.0, "over 95%")])
def test_percentages_to_the_nearest_five(p: float, text: str) -> None:
    assert about_percent(p) == text


def test_verdict_follows_the_threshold_not_one_half() -> None:
    kind, text = views.verdict(Stored(0.31, 0.19))
    assert kind == "info" and "about 30%, is above the service's referral threshold of 19%" in text
    assert "possible psoriasis" in text and "seborrheic" not in text
    kind, text = views.verdict(Stored(0.05, 0.19))
    assert kind == "info" and "below the service's referral threshold of 19%" in text
    kind, text = views.verdict(Stored(0.22, 0.19, uncertain=True))
    assert kind == "warning" and "too close to it to call" in text
    kind, text = views.verdict(Stored(0.76, 0.19, out_of_scope=True))
    assert kind == "warning" and "%" not in text and "no estimate" in text


def test_the_bar_marks_the_threshold_and_words_agree(at, predictor) -> None:
    """The issue's photo: 31% psoriasis at threshold 0.19 was called 'more like psoriasis' next to a bar
    that showed mostly seborrheic dermatitis, with no threshold."""
    predictor.p_psoriasis = 0.31
    open_page(at)
    add_photos(at, jpeg())
    submit(at)
    assert_clean(at)
    bars = [m for m in texts(at.markdown) if 'role="img"' in m]
    assert len(bars) == 1
    assert "Psoriasis about 30%" in bars[0] and "Seborrheic dermatitis about 70%" in bars[0]
    assert "referral threshold 19%" in bars[0] and "left:19.00%" in bars[0]
    assert "31%" not in bars[0] and "69%" not in bars[0]
    assert any("above the service's referral threshold of 19%" in i for i in texts(at.info))
    assert not any("more like the **psoriasis**" in m for m in texts(at.info) + texts(at.markdown))


def test_the_uncertain_band_is_drawn_around_the_threshold(at, predictor) -> None:
    predictor.p_psoriasis, predictor.threshold = 0.52, 0.5
    open_page(at)
    add_photos(at, jpeg())
    submit(at)
    bar = next(m for m in texts(at.markdown) if 'role="img"' in m)
    assert "too close to call" in bar and "left:40.00%;width:20.00%" in bar  # 0.5 ± 0.1
    assert any("too close to it to call" in w for w in texts(at.warning))


def test_an_out_of_scope_photo_gets_the_warning_instead_of_a_bar(at, predictor) -> None:
    predictor.p_psoriasis, predictor.out_of_scope = 0.76, True
    open_page(at)
    add_photos(at, jpeg())
    submit(at)
    assert_clean(at)
    assert not [m for m in texts(at.markdown) if 'role="img"' in m or "Psoriasis" in m]
    assert any("does not look like the scalp photos" in w for w in texts(at.warning))
    assert not any("76%" in t or "75%" in t for t in texts(at.info) + texts(at.warning))
    # no estimate, so no map of "the areas that weighed most in the estimate" (nor its opacity slider)
    assert not [s for s in at.slider if str(s.key).startswith("nc_opacity")]


def test_an_in_scope_photo_gets_its_map_with_an_opacity_slider(at, predictor) -> None:
    predictor.p_psoriasis = 0.76
    open_page(at)
    add_photos(at, jpeg())
    submit(at)
    assert_clean(at)
    assert [s for s in at.slider if str(s.key).startswith("nc_opacity")]


def test_the_pdf_leaves_out_the_estimate_of_an_out_of_scope_photo(monkeypatch) -> None:
    from datetime import datetime

    from fpdf import FPDF

    from pages import _report
    from tests.factories import image_bytes

    class Uncompressed(FPDF):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.set_compression(False)

    monkeypatch.setattr(_report, "FPDF", Uncompressed)
    photo = image_bytes("JPEG")
    pdf = summary_pdf(created=datetime(2026, 12, 4, 12, 0), access_code="ABCD-EFGH-JKLM", model_version="fake-1",
                      consent_version="2026-11", history={"Age": "18-39"},
                      photos=[PhotoSummary(photo, None, 0.76, views.OUT_OF_SCOPE_TEXT, out_of_scope=True),
                              PhotoSummary(photo, None, 0.31, "In scope.")])
    assert pdf.count(b"Computer estimate") == 1
    assert b"psoriasis about 30%" in pdf and b"76%" not in pdf and b"75%" not in pdf
