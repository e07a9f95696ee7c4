"""Review: one consultation's photos (with the model's map), the model's output, the history, the diagnosis form."""
import pandas as pd
import streamlit as st

from clinic.cases import MAX_SPECIFIED, QueueFilter, open_case, save_review
from clinic.history import COURSES
from clinic.requests import MAX_MESSAGE, NEEDS, ask_patient
from db.consultations import progress_phrases
from db.models import Diagnosis, Status, utcnow
from i18n import N_, _
from i18n.formats import joined
from pages import _auth as auth
from pages import _history as history
from pages import _resources as res
from pages import _templates as note_templates
from pages import _views as views
from pages._wording import NEED_SHORT, answer
from pages._photo_view import show_photo
from pages._progress import progress_words
from security.text import plain

AGREES = {"yes": True, "no": False, "not sure": None}
AGREE_WORDS = {"yes": N_("yes"), "no": N_("no"), "not sure": N_("not sure")}
FLAG_WORDS = {"uncertain": N_("uncertain"), "out of scope": N_("out of scope")}
# scalp_model.serving.quality's issue names (stored in the photo's capture metadata), as the clinician reads them.
QUALITY_WORDS = {"low_resolution": N_("low resolution"), "blurry": N_("blurry"), "underexposed": N_("underexposed"),
                 "overexposed": N_("overexposed")}
SOURCE_WORDS = {"phone": N_("phone"), "dermoscope": N_("dermoscope")}  # consultations.image_source as stored

clinician = auth.require_clinician()
notice = st.session_state.pop("review_notice", None)
if notice:
    st.success(notice, icon=":material/check_circle:")
public_id = st.session_state.get("review_public_id")
if not public_id:
    st.title(_("Review"))
    st.info(_("Choose a consultation in the queue."), icon=":material/inbox:")
    st.page_link("pages/queue.py", label=_("Open the queue"), icon=":material/inbox:")
    st.stop()

# Loaded (and audited as a view) once per opening, not on every widget change.
c = st.session_state.get("review_loaded")
if c is None or c.public_id != public_id:
    with res.friendly_errors(operator=True):
        c = open_case(res.get_database(), public_id, clinician)
    st.session_state["review_loaded"] = c


def when(moment) -> str:  # noqa: ANN001 - a stored (UTC) time, as the review shows it in every language
    return f"{moment:%Y-%m-%d %H:%M}"


st.title(_("Consultation {public_id}").format(public_id=c.public_id))
status_words = _(views.STATUS_SHORT[c.status])
if c.claimed_by and c.status == Status.IN_REVIEW:
    status_words = _("{status} by {name}").format(status=status_words, name=plain(c.claimed_by.username))
st.caption(" · ".join([_("Submitted {time} UTC").format(time=when(c.created_at)),
                       progress_words(progress_phrases(c, utcnow()), markdown=True),  # in the reader's language
                       status_words] + ([_("demo data")] if c.is_demo else [])))
history.panel(c, clinician)  # a follow-up: the patient's earlier consultations beside this one (issue 19)
photos_column, side_column = st.columns([3, 2], gap="large")
with photos_column:
    rounds = {r.id: r.round for r in c.requests}
    tabs = st.tabs([_("Photo {number} (answer {round})").format(number=image.position + 1,
                                                                 round=rounds[image.request_id])
                    if image.request_id else _("Photo {number}").format(number=image.position + 1)
                    for image in c.images])
    for tab, image in zip(tabs, c.images):
        p = image.prediction
        with tab:
            show_photo(c.public_id, image)  # its own map toggle and zoom
            if p is None:
                st.caption(_("No model output for this photo."))
                continue
            views.probability_bar(p.p_psoriasis, p.threshold)
            flags = [_(FLAG_WORDS[name]) for name, on in (("uncertain", p.uncertain), ("out of scope", p.out_of_scope))
                     if on]
            st.caption(_("Model: **{label}** at threshold {threshold}").format(label=views.label(p.label),
                                                                               threshold=f"{p.threshold:.2f}")
                       + (f" · :orange[{joined(flags)}]" if flags else "")
                       + (" · " + _("OOD score {score}").format(score=f"{p.ood_score:.2f}")
                          if p.ood_score is not None else "")
                       + "  \n" + _("Model {version} · sha256 {sha256} · T={temperature}").format(
                           version=p.model_version, sha256=p.model_sha256[:12], temperature=f"{p.temperature:.2f}"))
            issues = image.capture.get("quality", {}).get("issues") or []
            if issues:
                st.caption(_("Photo quality: {issues}").format(issues=joined(
                    [_(QUALITY_WORDS[i]) if i in QUALITY_WORDS else i.replace("_", " ") for i in issues])))

side_column.subheader(_("History"))
# st.table renders Markdown in its cells: every answer is shown as escaped plain text. The stored answers stay
# English in the database; they are shown in the clinician's language (the patient's own text as written).
side_column.table(pd.DataFrame(
    {_("Patient's answer"): [plain(value) if value else "—" for value in (
        answer(c.age_band), answer(c.sex), answer(c.duration), answer(c.itch), answer(c.scalp_site),
        c.previous_treatment, _(SOURCE_WORDS[c.image_source]) if c.image_source in SOURCE_WORDS else c.image_source,
        _("version {version}").format(version=c.consent_version))]},
    index=[_("Age"), _("Sex"), _("Duration"), _("Itch"), _("Scalp site"), _("Treatments tried"), _("Photos from"),
           _("Consent")],
))
if c.free_text:
    side_column.markdown(_("**In the patient's words**"))
    side_column.text(c.free_text)
for review in c.reviews:
    side_column.markdown(_("**Review by {name}** ({time} UTC): {diagnosis}").format(
                             name=plain(review.clinician.username), time=when(review.created_at),
                             diagnosis=views.label(review.diagnosis))
                         + (f": {plain(review.diagnosis_other)}" if review.diagnosis_other else "")
                         + (" · " + _("course: {course}").format(course=views.course(review.course).lower())
                            if review.course else ""))
    side_column.text(review.notes or _("(no notes)"))
for asked in c.requests:  # each round: what was asked, what came back and when
    side_column.markdown(_("**Round {round}: asked by {name}** ({time} UTC): {needs}").format(
        round=asked.round, name=plain(asked.requested_by.username), time=when(asked.created_at),
        needs=joined([_(NEED_SHORT[n]).lower() if n in NEED_SHORT else n for n in asked.needs])))
    side_column.text(asked.message)
    if asked.answered_at is None:
        side_column.caption(_("Not answered yet."))
        continue
    sent = [_("Photo {number}").format(number=i.position + 1) for i in c.images if i.request_id == asked.id]
    side_column.markdown(_("**Patient's answer** ({time} UTC): {photos}").format(
        time=when(asked.answered_at), photos=joined(sent) if sent else _("no photo")))
    side_column.text(asked.answer_text or _("(no text)"))
side_column.subheader(_("Dermatologist's review"))

if c.status in (Status.REVIEWED, Status.CLOSED):
    side_column.info(_("This consultation has been reviewed."), icon=":material/task_alt:")
    side_column.page_link("pages/queue.py", label=_("Back to the queue"), icon=":material/inbox:")
    st.stop()
if c.status == Status.AWAITING_PATIENT:
    side_column.info(_("More information was asked of the patient; the consultation comes back to the top of the "
                       "queue when the patient answers."), icon=":material/hourglass_top:")
    side_column.page_link("pages/queue.py", label=_("Back to the queue"), icon=":material/inbox:")
    st.stop()
if c.status == Status.IN_REVIEW and c.claimed_by_id != clinician.id and not clinician.is_admin:
    reviewer = plain(c.claimed_by.username) if c.claimed_by else _("Another clinician")
    side_column.warning(_("{reviewer} is reviewing this consultation.").format(reviewer=reviewer))
    st.stop()

templates = note_templates.available(clinician)
note_templates.picker(side_column, clinician, templates, f"rv_notes_{c.public_id}")  # before the notes widget
with side_column.form(f"review_{c.public_id}"):
    diagnosis = st.radio(_("Diagnosis"), list(Diagnosis), format_func=views.words_for(Diagnosis, views.label),
                         index=None, key=f"rv_diagnosis_{c.public_id}")
    specified = st.text_input(_("If another condition: which one (required with it)"), key=f"rv_other_{c.public_id}",
                              max_chars=MAX_SPECIFIED)
    course = st.radio(_("Since the earlier consultation, it is"), COURSES,
                      format_func=views.words_for(COURSES, views.course), index=None, horizontal=True,
                      key=f"rv_course_{c.public_id}") if c.follow_up_of_id is not None else None
    notes = st.text_area(_("Notes for the patient"), key=f"rv_notes_{c.public_id}",
                         help=_("The patient reads these with the access code. Write in plain language."))
    agrees = st.radio(_("Do you agree with the model?"), list(AGREES), index=None, horizontal=True,
                      format_func=views.words_for(AGREES, lambda a: _(AGREE_WORDS[a])),
                      key=f"rv_agrees_{c.public_id}")
    buttons = st.columns(2)
    save_next = buttons[0].form_submit_button(_("Save and next"), type="primary", width="stretch")
    save = buttons[1].form_submit_button(_("Save"), width="stretch")
if save or save_next:
    if diagnosis is None:
        side_column.error(_("Choose a diagnosis before saving."))
        st.stop()
    del st.session_state["review_loaded"]  # reload after saving or after a failed save (e.g. claimed meanwhile)
    # "Save and next" stays in the queue the case was opened from (its filters: pages/queue.py).
    queue = st.session_state.get("review_queue", QueueFilter()) if save_next else None
    with res.friendly_errors(operator=True):
        saved = save_review(res.get_database(), c, clinician, diagnosis, notes, AGREES.get(agrees), next_in=queue,
                            specified=specified, course=course)
    st.session_state["review_notice"] = _("Review of {public_id} saved.").format(public_id=c.public_id)
    if save_next and saved.next_public_id:
        st.session_state["review_public_id"] = saved.next_public_id
    elif save_next:
        del st.session_state["review_public_id"]
        st.session_state["review_notice"] = (
            _("Review of {public_id} saved. No consultation is waiting in this queue.") if queue != QueueFilter()
            else _("Review of {public_id} saved. No consultation is waiting.")).format(public_id=c.public_id)
    st.rerun()

with side_column.expander(_("Ask the patient for more information"), icon=":material/add_a_photo:"):
    with st.form(f"ask_{c.public_id}"):
        needs = st.multiselect(_("What is needed"), list(NEEDS), key=f"rq_needs_{c.public_id}",
                               format_func=views.words_for(NEEDS, lambda n: _(NEED_SHORT[n]) if n in NEED_SHORT else n))
        message = st.text_area(_("Message to the patient"), key=f"rq_message_{c.public_id}", max_chars=MAX_MESSAGE,
                               help=_("The patient reads it with the access code, beside the list above."))
        ask = st.form_submit_button(_("Send the request"), icon=":material/send:")
if ask:
    del st.session_state["review_loaded"]
    with res.friendly_errors(operator=True):
        round_number = ask_patient(res.get_database(), c, clinician, needs, message)
    st.session_state["review_notice"] = _("Request {round} sent for {public_id}: it waits for the patient and comes "
                                          "back to the top of the queue when answered.").format(
                                              round=round_number, public_id=c.public_id)
    st.rerun()

note_templates.editor(side_column, clinician, templates)  # create, change, delete (issue 19)
