"""New consultation: consent, a short history, 1–3 photos with quality feedback, then the results once; or a
follow-up of an earlier consultation, started under My consultation with its access code (issue 19)."""
import hashlib

import streamlit as st

from clinic.consent import consent_for
from clinic.photos import Photo, read_photo
from clinic.submit import MAX_PHOTOS, submit_consultation
from db.consultations import (
    AGE_BANDS,
    COURSES,
    DURATIONS,
    ITCH_LEVELS,
    MAX_FREE_TEXT,
    MAX_TREATMENT,
    SCALP_SITE_SEPARATOR,
    SCALP_SITES,
    SEXES,
    FollowUpOf,
)
from i18n import N_, _, current_language
from i18n.formats import long_date
from scalp_model import settings as model_settings
from scalp_model.errors import ScalpScopeError
from pages import _draft as draft
from pages import _browser as browser
from pages import _resources as res
from pages import _views as views
from pages._stored_result import SOURCES, pdf_of, result_of
from pages._wording import answers, quality_advice
from security.text import plain
from security.uploads import upload_problem

CONSENT_SHOWN = "nc_consent_shown"  # the consent version the box was last drawn with (its language's)
# The browser's picker offers these; the MIME types also stop Streamlit from re-checking the file *name* on
# the server, where a crafted name (.svg, no extension) would end the page with an exception instead of a
# message. What decides is the content: scalp_model.serving.preprocess.decode_image refuses anything but a photo.
PHOTO_TYPES = ["jpg", "jpeg", "png", "heic", "heif", "webp",
               "image/jpeg", "image/png", "image/heic", "image/heif", "image/webp"]
PHOTO_ADVICE = N_("**For a useful photo**\n- part the hair so the affected skin is visible\n"
                  "- use daylight or a bright room, no flash\n- hold steady and tap the screen to focus\n"
                  "- fill the frame with the scalp, one area per photo, no face")


def upload_words(sizes: list[int]) -> str | None:
    """``security.uploads.upload_problem`` for these sizes, in the patient's language (None: within limits)."""
    max_bytes = model_settings.max_upload_bytes()
    if not upload_problem(sizes, MAX_PHOTOS, max_bytes):
        return None
    if len(sizes) > MAX_PHOTOS:
        return _("remove {count} photo(s): at most {most}").format(count=len(sizes) - MAX_PHOTOS, most=MAX_PHOTOS)
    return _("remove {count} photo(s) larger than {mb} MB").format(
        count=sum(size > max_bytes for size in sizes), mb=f"{max_bytes / 2**20:.3g}")


def check_photos(photos: list[tuple[str, bytes, str]]) -> list[Photo | ScalpScopeError]:
    """Each photo read once (clinic.photos.read_photo: both copies and the quality report) or its error, in
    order; reruns and the submission reuse it, so a photo is decoded once."""
    previous = st.session_state.get("nc_checked", {})
    keys = [f"{hashlib.sha256(data).hexdigest()}:{origin}" for _, data, origin in photos]
    checked = {}
    for key, (_name, data, origin) in zip(keys, photos):
        if key not in previous:
            try:
                previous[key] = read_photo(data, origin)
            except ScalpScopeError as exc:
                previous[key] = exc
        checked[key] = previous[key]
    st.session_state["nc_checked"] = checked  # forget photos that were removed
    return [checked[key] for key in keys]


def history_from_state() -> dict:
    """The history form's answers as its widgets hold them (also before they are drawn in this run)."""
    state = st.session_state
    return {
        "age_band": state.get("nc_age"), "sex": state.get("nc_sex"), "duration": state.get("nc_duration"),
        "itch": state.get("nc_itch"), "scalp_site": SCALP_SITE_SEPARATOR.join(state.get("nc_sites") or []) or None,
        "previous_treatment": (state.get("nc_treatment") or "").strip() or None,
        "image_source": state.get("nc_source") or next(iter(SOURCES)),
        "free_text": (state.get("nc_text") or "").strip() or None,
    }


def _uploaded() -> list:
    """The photos' file objects: those kept from before the patient left the page, the uploader's, the shot."""
    files = list(st.session_state.get("nc_files") or [])
    shot = st.session_state.get("nc_camera") if st.session_state.get("nc_use_camera") else None
    return [f for _, f in draft.kept()] + files + ([shot] if shot is not None else [])


def photo_sizes() -> list[int]:
    """Byte sizes of the uploaded photos and the camera shot, read without copying or decoding them."""
    return [f.size for f in _uploaded()]


def photos_from_state() -> list[tuple[str, bytes, str]]:
    """(name, bytes, origin) of every uploaded photo and the camera shot, as the widgets hold them, or none
    at all while there are more or larger files than allowed (nothing is copied, hashed or decoded then)."""
    if upload_problem(photo_sizes(), MAX_PHOTOS, model_settings.max_upload_bytes()):
        return []
    kept = draft.kept()
    files = list(st.session_state.get("nc_files") or [])
    photos = [(f.name if origin == "upload" else "camera photo", f.getvalue(), origin) for origin, f in kept]
    photos += [(f.name, f.getvalue(), "upload") for f in files]
    photos += [("camera photo", f.getvalue(), "camera") for f in _uploaded()[len(kept) + len(files):]]
    return photos


def usable_photos(photos: list[tuple[str, bytes, str]], checked: list) -> list[Photo]:
    """The photos that could be read (``checked``: from check_photos), in order."""
    return [result for result in checked if isinstance(result, Photo)]


def problems_before_submit(consent: bool, sizes: list[int], usable: list) -> list[str]:
    """What stops a submission, in words for the patient (``sizes``: from photo_sizes)."""
    problems = []
    if not consent:
        problems.append(_("tick the consent box"))
    if not sizes:
        problems.append(_("add 1 to {most} photos").format(most=MAX_PHOTOS))
    else:
        over = upload_words(sizes)
        if over:
            problems.append(over)
        elif len(usable) < len(sizes):
            problems.append(_("remove the photos that cannot be read"))
    return problems


def submit_now() -> None:
    """Analyse, store and keep the result in the session, in the run that the Submit click started.

    Done before the form would be drawn, so the results replace it in this same run (no second run, no
    form drawn for nothing). The form's widgets are not drawn in this run, so they start empty later.

    One filled form stores one consultation: it is sent with the form's submission key and access code
    (see ``pages._draft.submission``), so a second click, or a run interrupted by one, finds the stored
    consultation and its code instead of storing another. Right after the commit the result goes into the
    form's outbox, a plain dict taken from the session beforehand: a run that a click interrupts ends at its
    next Streamlit call (drawing, or any use of ``st.session_state``), and the code must not be lost there.
    """
    photos = photos_from_state()
    usable = usable_photos(photos, check_photos(photos))
    if problems_before_submit(bool(st.session_state.get("nc_consent")), photo_sizes(), usable):
        return  # the page shows what is missing; the button was disabled in the browser anyway
    history = history_from_state()
    submission = draft.submission()
    earlier = draft.follow_up()
    follow_up_of = FollowUpOf(earlier["code"], st.session_state.get("nc_course")) if earlier else None
    outbox = draft.outbox()
    outbox[draft.SAVING] = True  # a run started by a click meanwhile waits for this one (draft.wait_while_saving)
    status = st.empty()
    with res.friendly_errors(stop=False):
        try:
            bar = status.progress(0.0, text=_("Analysing your photos…"))

            def progress(done: int, total: int) -> None:
                bar.progress(done / (total + 1), text=_("Analysing photo {number} of {total}…").format(
                    number=done + 1, total=total) if done < total else _("Saving your consultation…"))

            language = current_language()  # read from the session now: no session read after the commit
            consent = consent_for(language)  # the text this page showed, in the session's language
            submitted = submit_consultation(history, usable, consent.version, database=res.get_database(),
                                            predictor=res.get_predictor(), is_demo=res.demo_mode(),
                                            submission=submission, progress=progress, follow_up_of=follow_up_of,
                                            language=language)
            # No Streamlit call between the commit and this line (st.session_state included): see _stored_result.
            outbox["result"] = result_of(submitted, history, language, earlier, follow_up_of, consent.version)
        finally:
            outbox.pop(draft.SAVING, None)  # first: the next line is a Streamlit call, where a stopped run ends
            status.empty()
    if "result" in outbox:
        draft.drop_follow_up()  # stored as the follow-up: the next form is a plain consultation


def show_results(result: dict) -> None:
    st.success(_("Your consultation has been sent to a dermatologist."), icon=":material/check_circle:")
    st.markdown(_("**Your access code.** Copy it or download the PDF **now**: this page keeps it only while "
                  "this browser stays open, for a short while. You need it under *My consultation* to read the "
                  "dermatologist's conclusion."))
    views.show_access_code(result["code"])
    if result.get("follow_up"):
        st.info((_("This is a follow-up of your consultation of {date}").format(date=result["follow_up_since"])
                 if result.get("follow_up_since") else _("This is a follow-up"))
                + _(": the dermatologist sees your earlier photos and conclusion beside the new ones. This new code "
                    "shows this follow-up and the earlier consultations; your earlier code keeps working and shows "
                    "the earlier consultation only. Keep both."), icon=":material/history:")
    # The code in a PDF next, before anything else on this page could fail (its first line is the code).
    pdf = pdf_of(result)
    if pdf:
        st.download_button(_("Download PDF summary"), data=pdf, file_name=result["pdf_name"],
                           mime="application/pdf", key="nc_pdf", on_click="ignore", icon=":material/download:")
    else:
        st.warning(_("The PDF summary could not be made. Please copy the access code above."),
                   icon=":material/warning:")
    for index, analysis in enumerate(result["analyses"]):
        st.subheader(_("Photo {number}").format(number=index + 1))
        views.show_estimate(analysis.prediction)  # the warning instead of a bar for an out-of-scope photo
        photo_column, map_column = st.columns(2)
        photo_column.image(analysis.decoded.image, caption=_("Your photo"), width="stretch")
        if analysis.prediction.out_of_scope:
            continue  # no estimate, so no map of what weighed in one; the dermatologist's review still has it
        with map_column:
            overlay = st.empty()  # drawn after the slider below it has its value
            opacity = st.slider(_("Map opacity"), 0, 100, 45, step=5, format="%d%%", key=f"nc_opacity_{index}")
            overlay.image(analysis.overlay_png(image_weight=1 - opacity / 100), caption=_(views.MAP_CAPTION),
                          width="stretch")
    if st.button(_("Start a new consultation"), key="nc_restart", icon=":material/restart_alt:"):
        draft.start_over()  # the form's widgets were not drawn meanwhile: they start empty
        st.rerun()
    result["seen"] = True  # the whole results page was drawn: other pages stop pointing to it


st.title(_("New consultation"))
browser.require_browser_cookie()  # the result and its access code stay with this browser alone
restored = draft.keep_or_restore()  # first: what was entered survives opening another page
if st.session_state.get("nc_submit") and not draft.has_result():
    submit_now()
stored = draft.collect_result()
if stored is not None:
    show_results(stored)
    st.stop()

earlier = draft.follow_up()
if earlier is not None:
    with st.container(border=True, key="nc_follow_up_box"):
        st.markdown((_("**A follow-up** of your consultation of {date}.").format(date=long_date(earlier["since"]))
                     if earlier.get("since") else _("**A follow-up**."))
                    + " " + _("The dermatologist sees your earlier photos and conclusion beside the new ones. You "
                              "get a new access code for it; your earlier code keeps working."))
        st.radio(_("Since then, your scalp is"), COURSES, format_func={c: views.course_patient(c) for c in COURSES}.get,
                 index=None,
                 horizontal=True, key="nc_course", help=_("Optional: the dermatologist judges it too."))
        st.button(_("Make it a separate new consultation instead"), key="nc_not_follow_up",
                  on_click=draft.drop_follow_up,
                  icon=":material/close:")

with st.container(border=True):
    shown_consent = consent_for(current_language())
    if st.session_state.get(CONSENT_SHOWN, shown_consent.version) != shown_consent.version:
        st.session_state["nc_consent"] = False  # ticked under another language's text: this one is asked anew
    st.session_state[CONSENT_SHOWN] = shown_consent.version
    st.markdown(_("**Before you start**") + "\n\n" + shown_consent.text)
    consent = st.checkbox(_("I have read this and agree (consent version {version}).").format(
        version=shown_consent.version), key="nc_consent")

st.subheader(_("1. About your scalp"))
left, right = st.columns(2)
# Each list's words are looked up once per run; a value outside the list (a modified client's) shows as it is.
choose = _("Choose an option")
left.selectbox(_("Age"), AGE_BANDS, format_func=answers(AGE_BANDS), index=None, key="nc_age", placeholder=choose)
right.selectbox(_("Sex"), SEXES, format_func=answers(SEXES), index=None, key="nc_sex", placeholder=choose)
left.selectbox(_("How long have you had it?"), DURATIONS, format_func=answers(DURATIONS), index=None,
               key="nc_duration", placeholder=choose)
right.selectbox(_("Itch"), ITCH_LEVELS, format_func=answers(ITCH_LEVELS), index=None, key="nc_itch",
                placeholder=choose)
st.multiselect(_("Where on the scalp?"), SCALP_SITES, format_func=answers(SCALP_SITES), key="nc_sites",
               placeholder=_("Choose options"))
st.text_input(_("Treatments tried so far (shampoos, lotions…)"), max_chars=MAX_TREATMENT, key="nc_treatment")
st.radio(_("Photos taken with"), list(SOURCES), format_func={k: _(v) for k, v in SOURCES.items()}.get,
         horizontal=True, key="nc_source")
st.text_area(_("Anything else the dermatologist should know?"), max_chars=MAX_FREE_TEXT, key="nc_text")

st.subheader(_("2. Photos"))
st.info(_(PHOTO_ADVICE), icon=":material/photo_camera:")
st.file_uploader(_("Choose 1–{most} photos").format(most=MAX_PHOTOS), type=PHOTO_TYPES, accept_multiple_files=True,
                 key="nc_files")
if st.toggle(_("Take a photo with this device's camera"), key="nc_use_camera"):
    st.camera_input(_("Photo of the affected area"), key="nc_camera")

n_kept = len(draft.kept())
if restored:
    st.info(_("Your answers and photos from before you left this page are kept."), icon=":material/restore:")
photos = photos_from_state()
checked = check_photos(photos)
for index, ((name, _data, _origin), result) in enumerate(zip(photos, checked)):
    with st.container(border=True):
        if index < n_kept:  # added before the patient left the page: the uploader cannot show it again
            st.button(_("Remove"), key=f"nc_remove_{index}", on_click=draft.remove_kept, args=(index,),
                      icon=":material/delete:", help=_("Kept from before you left this page"))
        if isinstance(result, ScalpScopeError):
            st.markdown(f"**{plain(name)}**")
            res.show_error(result)
            continue
        decoded, quality = result.decoded, result.quality
        thumbnail, feedback = st.columns([1, 3])
        thumbnail.image(decoded.image, width=160)
        feedback.markdown(f"**{plain(name)}** · {decoded.original_size[0]}×{decoded.original_size[1]} px")
        if quality.ok:
            feedback.success(_("Sharp and well lit."), icon=":material/check:")
        else:
            feedback.warning("  \n".join(quality_advice(quality.issues)), icon=":material/tips_and_updates:")

sizes = photo_sizes()
if not photos and sizes:  # over the limits: refused before anything was decoded
    st.error(_("{problem}. The photos are checked once that is done.").format(
        problem=(upload_words(sizes) or "").capitalize()), icon=":material/photo_library:")
problems = problems_before_submit(consent, sizes, usable_photos(photos, checked))
if problems:
    st.caption(_("To submit: {problems}.").format(problems=_("; ").join(problems)))
st.button(_("Submit for review"), type="primary", disabled=bool(problems), key="nc_submit")
