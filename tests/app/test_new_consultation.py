"""New consultation page: consent gate, quality feedback, bad files, submission, results and the PDF."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from db.models import ConsultImage, Consultation, Prediction
from pages import _views as views
from tests.app.conftest import CODE_PATTERN, assert_clean, shown_access_code, texts
from tests.factories import image_bytes, photo_array

PAGE = "pages/new_consultation.py"


def open_page(at):
    return at.switch_page(PAGE).run()


def add_photos(at, *files: tuple[str, bytes, str], consent: bool = True):
    if consent:
        at.checkbox(key="nc_consent").check()
    at.file_uploader(key="nc_files").set_value(list(files))
    return at.run()


def jpeg(seed: int = 0, **kwargs) -> tuple[str, bytes, str]:
    return (f"scalp{seed}.jpg", image_bytes("JPEG", seed=seed, **kwargs), "image/jpeg")


def submit(at):
    assert not at.button(key="nc_submit").disabled
    return at.button(key="nc_submit").click().run()


def count(database, model) -> int:
    with database.begin() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_submit_needs_consent_and_a_photo(at, fake_predictor):
    open_page(at)
    assert_clean(at)
    assert at.button(key="nc_submit").disabled
    assert "tick the consent box" in " ".join(texts(at.caption))
    add_photos(at, jpeg(), consent=False)
    assert at.button(key="nc_submit").disabled
    at.checkbox(key="nc_consent").check().run()
    assert not at.button(key="nc_submit").disabled
    assert fake_predictor.calls == 0  # the model runs only on submit


def test_each_photo_gets_quality_feedback(at, fake_predictor):
    open_page(at)
    blurry = Image.fromarray(photo_array(320, 240)).resize((40, 30)).resize((320, 240))
    buf = io.BytesIO()
    blurry.save(buf, format="PNG")
    add_photos(at, jpeg(), ("blurry.png", buf.getvalue(), "image/png"))
    assert_clean(at)
    assert any("hold the camera steady" in w for w in texts(at.warning))
    assert not at.button(key="nc_submit").disabled  # advice, not a block


def test_bad_file_is_refused_and_nothing_is_stored(at, fake_predictor, database):
    open_page(at)
    add_photos(at, jpeg(), ("notes.png", b"this is not a picture", "image/png"))
    assert_clean(at)
    assert any("not a picture we can read" in e for e in texts(at.error))
    assert at.button(key="nc_submit").disabled
    assert "remove the photos that cannot be read" in " ".join(texts(at.caption))
    assert count(database, Consultation) == 0


def test_at_most_three_photos(at, fake_predictor):
    open_page(at)
    add_photos(at, *(jpeg(seed) for seed in range(4)))
    assert at.button(key="nc_submit").disabled
    assert "at most 3" in " ".join(texts(at.caption))


def test_submit_stores_sanitised_photos_and_shows_results_once(at, fake_predictor, database):
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x0112] = 6  # rotate 90° on display
    open_page(at)
    at.selectbox(key="nc_age").select("40–64")
    at.multiselect(key="nc_sites").select("top").select("back")
    at.text_area(key="nc_text").input("Itches after washing.")
    add_photos(at, ("phone.jpg", image_bytes("JPEG", exif=exif.tobytes()), "image/jpeg"), jpeg(1))
    submit(at)
    assert_clean(at)
    assert not at.error

    code = shown_access_code(at)
    assert CODE_PATTERN.match(code)
    assert any("Psoriasis about 80%" in m and "Seborrheic dermatitis about 20%" in m for m in texts(at.markdown))
    assert [s.key for s in at.slider] == ["nc_opacity_0", "nc_opacity_1"]
    captions = [caption for image in at.image for caption in image.captions]
    assert captions.count("Your photo") == 2 and captions.count(views.MAP_CAPTION) == 2
    download = at.get("download_button")[0]
    assert code.replace("-", "") not in download.proto.label + str(download.proto)  # no code in the name
    assert download.proto.url  # the PDF was built

    with database.begin() as session:
        consultation = session.scalar(select(Consultation))
        assert (consultation.age_band, consultation.scalp_site) == ("40–64", "top, back")
        assert consultation.free_text == "Itches after washing."
        # The consent version names the language the patient read it in (issue 21).
        assert consultation.consent_version == "2026-11-en" and not consultation.is_demo
        images = list(session.scalars(select(ConsultImage).order_by(ConsultImage.position)))
        stored = Image.open(io.BytesIO(images[0].data))
        assert stored.format == "JPEG" and not stored.getexif() and b"SpyCam" not in images[0].data
        assert (images[0].width, images[0].height) == (240, 320) == stored.size  # upright
        assert images[0].capture["exif_orientation"] == 6
        predictions = list(session.scalars(select(Prediction)))
        assert [p.model_version for p in predictions] == ["fake-1", "fake-1"]
        assert all(p.overlay_png.startswith(b"\x89PNG") for p in predictions)

    at.switch_page("pages/home.py").run()
    open_page(at)
    assert shown_access_code(at) == code  # still this session's result until a new consultation starts
    at.button(key="nc_restart").click().run()
    assert not shown_access_code(at) and not at.checkbox(key="nc_consent").value
    assert count(database, Consultation) == 1


@pytest.mark.parametrize(("flags", "phrase"), [
    ({"uncertain": True}, "could not clearly tell"),
    ({"out_of_scope": True}, "does not look like the scalp photos"),
    ({}, "above the service's referral threshold of 50%"),
])
def test_plain_language_verdicts(at, fake_predictor, flags, phrase):
    for name, value in flags.items():
        setattr(fake_predictor, name, value)
    open_page(at)
    add_photos(at, jpeg())
    submit(at)
    assert any(phrase in m for m in texts(at.warning) + texts(at.info)), texts(at.warning) + texts(at.info)


def test_real_predictor_on_the_tiny_checkpoint(at, database):
    open_page(at)
    at.radio(key="nc_source").set_value("dermoscope")
    add_photos(at, jpeg(2))
    submit(at)
    assert_clean(at)
    assert CODE_PATTERN.match(shown_access_code(at))
    with database.begin() as session:
        prediction = session.scalar(select(Prediction))
        assert prediction.model_version == "test-tiny" and len(prediction.model_sha256) == 64
        assert session.scalar(select(Consultation.image_source)) == "dermoscope"


def test_missing_weights_explained_without_storing(at, database, monkeypatch, tmp_path):
    monkeypatch.setenv("SCALPSCOPE_WEIGHTS", str(tmp_path / "nope.pt"))
    open_page(at)
    add_photos(at, jpeg())
    submit(at)
    assert_clean(at)
    assert any("problem on our side" in e for e in texts(at.error))
    assert count(database, Consultation) == 0
    # Nothing the patient entered is lost: the form is back with the photo and the consent.
    assert at.checkbox(key="nc_consent").value and any("**scalp0.jpg** ·" in m for m in texts(at.markdown))
    assert not at.button(key="nc_submit").disabled


def test_submit_is_checked_on_the_server_too(at, fake_predictor, database):
    """Consent withdrawn in the same round trip as the click on Submit: nothing is analysed or stored."""
    open_page(at)
    add_photos(at, jpeg())
    at.checkbox(key="nc_consent").uncheck()
    at.button(key="nc_submit").click().run()
    assert not shown_access_code(at) and count(database, Consultation) == 0 and fake_predictor.calls == 0
    assert any("tick the consent box" in c for c in texts(at.caption))


def test_a_failing_pdf_does_not_hide_the_access_code(at, fake_predictor, database, monkeypatch):
    from pages import _report

    def broken_pdf(**_):
        raise RuntimeError("font missing")

    monkeypatch.setattr(_report, "summary_pdf", broken_pdf)
    open_page(at)
    add_photos(at, jpeg())
    submit(at)
    assert CODE_PATTERN.match(shown_access_code(at)) and count(database, Consultation) == 1
    assert any("PDF summary could not be made" in w for w in texts(at.warning))
    assert not at.get("download_button")


@pytest.mark.parametrize(("fmt", "name", "mime"), [
    ("PNG", "scalp.png", "image/png"), ("WEBP", "scalp.webp", "image/webp"), ("HEIF", "IMG_0001.heic", "image/heic"),
])
def test_phone_formats_are_accepted_and_stored_as_jpeg(at, fake_predictor, database, fmt, name, mime):
    open_page(at)
    add_photos(at, (name, image_bytes(fmt), mime))
    assert not at.error
    submit(at)
    assert_clean(at)
    with database.begin() as session:
        assert session.scalar(select(ConsultImage.mime)) == "image/jpeg"
        assert session.scalar(select(ConsultImage.capture))["format"] == fmt


def test_camera_photo(at, fake_predictor, database):
    open_page(at)
    at.checkbox(key="nc_consent").check()
    at.toggle(key="nc_use_camera").set_value(True).run()
    at.camera_input(key="nc_camera").upload("shot.jpg", image_bytes("JPEG", seed=4)).run()
    assert any("camera photo" in m for m in texts(at.markdown))
    submit(at)
    assert_clean(at)
    with database.begin() as session:
        assert session.scalar(select(ConsultImage.capture))["source"] == "camera"


def test_a_run_stopped_while_the_pdf_is_built_does_not_lose_it() -> None:
    """A tester clicked Submit twice: the second click stopped the run building the PDF (Streamlit stops a run
    with an exception that is not an Exception), and every later run said the PDF could not be made."""
    from streamlit.runtime.scriptrunner_utils.exceptions import RerunException

    from pages._stored_result import pdf_of

    calls = []

    def make() -> bytes:
        calls.append(1)
        if len(calls) == 1:
            raise RerunException(None)
        return b"%PDF-1.4 built"

    result = {"make_pdf": make}
    with pytest.raises(RerunException):
        pdf_of(result)
    assert pdf_of(result) == b"%PDF-1.4 built" and pdf_of(result) == b"%PDF-1.4 built" and len(calls) == 2
    assert "make_pdf" not in result  # built: the recipe and its photos are let go

    def broken() -> bytes:
        raise ValueError("no font")

    failed = {"make_pdf": broken}
    assert pdf_of(failed) is None and pdf_of(failed) is None  # a real failure is reported, not retried each run
