"""Choosing a language from the browser, dates and numbers in its format, the consent per language, and the
tables the pages translate staying in step with the core's values."""
from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest
from PIL import Image

from clinic.consent import TEXT_SHA256, consent_for
from db.consultations import AGE_BANDS, CONSENT_TEXT, CONSENT_VERSION, DURATIONS, ITCH_LEVELS, SCALP_SITES, SEXES
from i18n import LANGUAGES, negotiate, normalise
from i18n.formats import date_time_utc, joined, long_date, number
from i18n.languages import accept_language
from pages._wording import ANSWERS, QUALITY_ADVICE, QUALITY_TIP, about_percent, answer, quality_advice
from scalp_model.serving.quality import assess_quality


@pytest.mark.parametrize(("preferred", "chosen"), [
    (["zh-CN"], "zh_CN"), (["zh"], "zh_CN"), (["zh-Hans-CN"], "zh_CN"), (["zh-SG"], "zh_CN"),
    (["en-US"], "en"), (["en-GB", "zh-CN"], "en"), (["fr-FR", "zh-CN"], "zh_CN"), (["fr-FR"], "en"), ([], "en"),
    ([None, "", "not a tag!"], "en"),
])
def test_the_browser_preference_picks_a_language(preferred, chosen) -> None:
    assert negotiate(preferred) == chosen


def test_accept_language_is_read_by_weight() -> None:
    assert accept_language("fr-FR,fr;q=0.9, zh-CN;q=0.95, en;q=0") == ["fr-FR", "zh-CN", "fr"]
    assert negotiate(accept_language("de;q=0.9, zh-CN;q=0.8, en;q=0.7")) == "zh_CN"
    assert normalise("EN") == "en" and normalise("xx-YY") is None


def test_dates_and_numbers_follow_the_language() -> None:
    when = datetime(2026, 12, 5, 14, 5)
    assert long_date(date(2026, 12, 5), "en") == "05 December 2026"  # as the pages wrote it before
    assert long_date(date(2026, 12, 5), "zh_CN") == "2026年12月5日"
    assert date_time_utc(when, "en") == "05 December 2026, 14:05 UTC"
    assert date_time_utc(when, "zh_CN") == "2026年12月5日 14:05 UTC"
    assert number(12345.5, language="en") == "12,345.5" and number(2.25, "0.0", "zh_CN") == "2.2"
    assert joined(["a", "b"], "en") == "a, b" and joined(["发际线", "头顶"], "zh_CN") == "发际线和头顶"


def test_the_consent_version_names_its_language_and_pins_its_text() -> None:
    english, chinese = consent_for("en"), consent_for("zh_CN")
    assert (english.version, english.text) == (f"{CONSENT_VERSION}-en", CONSENT_TEXT)
    assert chinese.version == f"{CONSENT_VERSION}-zh_CN" and "不是诊断" in chinese.text
    assert consent_for("xx").version == f"{CONSENT_VERSION}-en"  # no translation: the English consent, named so
    # A changed text (English or a translation) must come with a new CONSENT_VERSION and new pins.
    assert {c.version: c.sha256 for c in (english, chinese)} == TEXT_SHA256
    assert set(TEXT_SHA256) == {consent_for(language).version for language in LANGUAGES}


def test_every_stored_answer_has_its_words() -> None:
    assert set(ANSWERS) == {*AGE_BANDS, *SEXES, *DURATIONS, *ITCH_LEVELS, *SCALP_SITES}
    assert answer("top, back") == "top, back" and answer(None) is None and answer("typed by hand") == "typed by hand"


def test_quality_advice_is_the_cores_advice() -> None:
    """The page translates scalp_model's quality advice by issue: the English must be the core's own."""
    dark_small = Image.fromarray(np.full((100, 120, 3), 8, np.uint8))
    washed = Image.fromarray(np.full((400, 400, 3), 252, np.uint8))
    for image in (dark_small, washed):
        report = assess_quality(image, image.size)
        assert report.issues and list(report.advice) == quality_advice(report.issues)
    assert set(QUALITY_ADVICE) == {"low_resolution", "blurry", "underexposed", "overexposed"} and QUALITY_TIP


def test_percentages_read_in_each_language(monkeypatch: pytest.MonkeyPatch) -> None:
    import i18n.session

    assert about_percent(0.31) == "about 30%" and about_percent(0.01) == "under 5%"
    monkeypatch.setattr(i18n.session, "_provider", lambda: "zh_CN")
    assert about_percent(0.31) == "约30%" and about_percent(0.99) == "高于95%"


def test_the_pages_words_for_errors_are_the_cores_english() -> None:
    """pages/_messages.py translates the data layer's messages by their exact English: they must stay equal."""
    from db.errors import AccountLockedError, ClientThrottledError, InvalidCredentialsError, UnknownAccessCodeError
    from pages import _messages as messages

    locked = AccountLockedError(datetime(2026, 12, 5, 12, 0))
    assert str(InvalidCredentialsError()) == str(locked) == messages.SIGN_IN_FAILED
    assert str(ClientThrottledError()) == messages.THROTTLED and str(UnknownAccessCodeError()) == messages.UNKNOWN_CODE


def test_in_language_speaks_without_asking_the_session() -> None:
    """The lines after a consultation's commit take their words in a language read beforehand: inside
    ``in_language`` the provider (in the app, a read of Streamlit's session state, where a replaced run ends)
    is never called, nested blocks restore the outer language, and other threads keep theirs."""
    import threading

    from i18n import _, current_language, in_language, set_language_provider
    from i18n import session

    before, asked = session._provider, []

    def provider() -> str:
        asked.append(1)
        return "en"

    set_language_provider(provider)
    try:
        with in_language("zh_CN"):
            assert current_language() == "zh_CN"
            assert _("Age") != "Age"  # the Chinese catalog's word
            with in_language("en"):
                assert _("Age") == "Age"
            assert current_language() == "zh_CN"
            elsewhere: list[str] = []
            thread = threading.Thread(target=lambda: elsewhere.append(current_language()))
            thread.start()
            thread.join()
        assert elsewhere == ["en"] and len(asked) == 1  # only the other thread asked
        assert current_language() == "en" and len(asked) == 2
    finally:
        set_language_provider(before)
