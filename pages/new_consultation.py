"""New consultation: consent, a short history, 1–3 photos with quality feedback, then the results once."""
import hashlib

import streamlit as st

from db.consultations import MAX_FREE_TEXT, submit_consultation
from db.models import utcnow
from scalp_model.errors import ScalpScopeError
from scalp_model.predictor import Analysis
from scalp_model.preprocess import decode_image
from scalp_model.quality import assess_quality
from pages import _report as report
from pages import _resources as res
from pages import _views as views

MAX_PHOTOS = 3
# The browser's picker offers these; the MIME types also stop Streamlit from re-checking the file *name* on
# the server, where a crafted name (.svg, no extension) would end the page with an exception instead of a
# message. What decides is the content: scalp_model.preprocess.decode_image refuses anything but a photo.
PHOTO_TYPES = ["jpg", "jpeg", "png", "heic", "heif", "webp",
               "image/jpeg", "image/png", "image/heic", "image/heif", "image/webp"]
SOURCES = {"phone": "Phone or camera", "dermoscope": "Dermoscope"}
CONSENT_TEXT = (
    "- Your answers and photos are sent to the ScalpScope dermatology service and stored securely. "
    "Location and camera data are removed from the photos before storage.\n"
    "- A computer model gives an estimate right away. It is **not a diagnosis**; a dermatologist reviews "
    "every consultation.\n"
    "- You receive an access code, shown only once. Anyone with the code can read the conclusion.\n"
    "- With your consent, reviewed photos without your name may be used to improve the model.\n"
    "- This service is **not for emergencies**."
)
PHOTO_ADVICE = ("**For a useful photo**\n- part the hair so the affected skin is visible\n"
                "- use daylight or a bright room, no flash\n- hold steady and tap the screen to focus\n"
                "- fill the frame with the scalp, one area per photo, no face")


def check_photos(photos: list[tuple[str, bytes, str]]) -> dict:
    """Decoded picture and quality report (or the error) per file content; reruns do not decode again."""
    previous = st.session_state.get("nc_checked", {})
    checked = {}
    for _, data, _ in photos:
        key = hashlib.sha256(data).hexdigest()
        if key not in previous:
            try:
                decoded = decode_image(data)
                previous[key] = (decoded, assess_quality(decoded.image, decoded.original_size))
            except ScalpScopeError as exc:
                previous[key] = exc
        checked[key] = previous[key]
    st.session_state["nc_checked"] = checked  # forget photos that were removed
    return checked


def show_results(result: dict) -> None:
    st.success("Your consultation has been sent to a dermatologist.", icon=":material/check_circle:")
    st.markdown("**Your access code.** It is shown **only now**: copy it or download the PDF. "
                "You need it under *My consultation* to read the dermatologist's conclusion.")
    st.code(result["code"], language=None)
    if result.get("pdf"):
        st.download_button("Download PDF summary", data=result["pdf"], file_name=result["pdf_name"],
                           mime="application/pdf", key="nc_pdf", on_click="ignore", icon=":material/download:")
    for index, analysis in enumerate(result["analyses"]):
        st.subheader(f"Photo {index + 1}")
        views.probability_bar(analysis.prediction.p_psoriasis)
        views.show_verdict(*views.verdict(analysis.prediction))
        photo_column, map_column = st.columns(2)
        photo_column.image(analysis.decoded.image, caption="Your photo", width="stretch")
        with map_column:
            overlay = st.empty()  # drawn after the slider below it has its value
            opacity = st.slider("Map opacity", 0, 100, 45, step=5, format="%d%%", key=f"nc_opacity_{index}")
            overlay.image(analysis.overlay_png(image_weight=1 - opacity / 100), caption=views.MAP_CAPTION,
                          width="stretch")
    if st.button("Start a new consultation", key="nc_restart", icon=":material/restart_alt:"):
        del st.session_state["nc_result"]  # the form's widgets were not drawn meanwhile: they start empty
        st.rerun()


st.title("New consultation")
if "nc_result" in st.session_state:
    show_results(st.session_state["nc_result"])
    st.stop()

with st.container(border=True):
    st.markdown("**Before you start**\n\n" + CONSENT_TEXT)
    consent = st.checkbox(f"I have read this and agree (consent version {res.CONSENT_VERSION}).", key="nc_consent")

st.subheader("1. About your scalp")
left, right = st.columns(2)
history = {
    "age_band": left.selectbox("Age", ["under 18", "18–39", "40–64", "65 or older"], index=None, key="nc_age"),
    "sex": right.selectbox("Sex", ["female", "male", "other / prefer not to say"], index=None, key="nc_sex"),
    "duration": left.selectbox("How long have you had it?", ["under 4 weeks", "1–6 months", "6–12 months",
                                                             "over a year"], index=None, key="nc_duration"),
    "itch": right.selectbox("Itch", ["none", "mild", "moderate", "severe"], index=None, key="nc_itch"),
    "scalp_site": ", ".join(st.multiselect("Where on the scalp?", ["hairline", "top", "back", "sides",
                                                                   "behind the ears", "whole scalp"],
                                           key="nc_sites")) or None,
    "previous_treatment": st.text_input("Treatments tried so far (shampoos, lotions…)", max_chars=200,
                                        key="nc_treatment").strip() or None,
    "image_source": st.radio("Photos taken with", list(SOURCES), format_func=SOURCES.get, horizontal=True,
                             key="nc_source"),
    "free_text": st.text_area("Anything else the dermatologist should know?", max_chars=MAX_FREE_TEXT,
                              key="nc_text").strip() or None,
}

st.subheader("2. Photos")
st.info(PHOTO_ADVICE, icon=":material/photo_camera:")
files = st.file_uploader(f"Choose 1–{MAX_PHOTOS} photos", type=PHOTO_TYPES, accept_multiple_files=True,
                         key="nc_files")
photos = [(f.name, f.getvalue(), "upload") for f in files or []]
if st.toggle("Take a photo with this device's camera", key="nc_use_camera"):
    shot = st.camera_input("Photo of the affected area", key="nc_camera")
    if shot is not None:
        photos.append(("camera photo", shot.getvalue(), "camera"))

checked = check_photos(photos)
usable = []
for name, data, origin in photos:
    result = checked[hashlib.sha256(data).hexdigest()]
    with st.container(border=True):
        if isinstance(result, ScalpScopeError):
            st.markdown(f"**{name}**")
            res.show_error(result)
            continue
        decoded, quality = result
        thumbnail, feedback = st.columns([1, 3])
        thumbnail.image(decoded.image, width=160)
        feedback.markdown(f"**{name}** · {decoded.original_size[0]}×{decoded.original_size[1]} px")
        if quality.ok:
            feedback.success("Sharp and well lit.", icon=":material/check:")
        else:
            feedback.warning("  \n".join(quality.advice), icon=":material/tips_and_updates:")
        usable.append((data, origin, decoded, quality))

problems = []
if not consent:
    problems.append("tick the consent box")
if not photos:
    problems.append(f"add 1 to {MAX_PHOTOS} photos")
elif len(photos) > MAX_PHOTOS:
    problems.append(f"remove {len(photos) - MAX_PHOTOS} photo(s): at most {MAX_PHOTOS}")
elif len(usable) < len(photos):
    problems.append("remove the photos that cannot be read")
if problems:
    st.caption("To submit: " + "; ".join(problems) + ".")
if st.button("Submit for review", type="primary", disabled=bool(problems), key="nc_submit"):
    progress = st.progress(0.0, text="Analysing your photos…")
    steps = len(usable) + 1
    with res.friendly_errors():
        predictor = res.get_predictor()
        analyses, records = [], []
        for index, (data, origin, decoded, quality) in enumerate(usable):
            progress.progress(index / steps, text=f"Analysing photo {index + 1} of {len(usable)}…")
            analysis = Analysis(decoded, quality, predictor.predict(decoded.image))
            analyses.append(analysis)
            records.append(res.submission_records(data, analysis, analysis.overlay_png(), origin))
        progress.progress(len(usable) / steps, text="Saving your consultation…")
        with res.get_database().begin() as session:
            _, code = submit_consultation(session, history, res.CONSENT_VERSION, [image for image, _ in records],
                                          [prediction for _, prediction in records], is_demo=res.demo_mode())
    created = utcnow()
    # Kept before the PDF is built, so the code is shown even if the PDF should fail.
    st.session_state["nc_result"] = result = {"code": code, "analyses": analyses,
                                              "pdf_name": report.summary_filename(created)}
    st.session_state.pop("nc_checked", None)
    result["pdf"] = report.summary_pdf(
        created=created, access_code=code, model_version=predictor.version, consent_version=res.CONSENT_VERSION,
        history={"Age": history["age_band"], "Sex": history["sex"], "Duration": history["duration"],
                 "Itch": history["itch"], "Scalp site": history["scalp_site"],
                 "Treatments tried": history["previous_treatment"],
                 "Photos taken with": SOURCES[history["image_source"]]},
        photos=[report.PhotoSummary(image.data, prediction.overlay_png, prediction.p_psoriasis,
                                    views.verdict(prediction)[1]) for image, prediction in records],
    )
    st.rerun()
