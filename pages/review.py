"""Review: one consultation's photos (with the model's map), the model's output, the history, the diagnosis form."""
import pandas as pd
import streamlit as st

from clinic.cases import MAX_SPECIFIED, QueueFilter, open_case, save_review
from clinic.history import COURSES
from clinic.requests import MAX_MESSAGE, NEEDS, ask_patient
from db.consultations import progress_text
from db.models import Diagnosis, Status, utcnow
from pages import _auth as auth
from pages import _history as history
from pages import _resources as res
from pages import _templates as note_templates
from pages import _views as views
from pages._wording import NEED_SHORT
from pages._photo_view import show_photo
from security.text import plain

AGREES = {"yes": True, "no": False, "not sure": None}

clinician = auth.require_clinician()
notice = st.session_state.pop("review_notice", None)
if notice:
    st.success(notice, icon=":material/check_circle:")
public_id = st.session_state.get("review_public_id")
if not public_id:
    st.title("Review")
    st.info("Choose a consultation in the queue.", icon=":material/inbox:")
    st.page_link("pages/queue.py", label="Open the queue", icon=":material/inbox:")
    st.stop()

# Loaded (and audited as a view) once per opening, not on every widget change.
c = st.session_state.get("review_loaded")
if c is None or c.public_id != public_id:
    with res.friendly_errors(operator=True):
        c = open_case(res.get_database(), public_id, clinician)
    st.session_state["review_loaded"] = c

st.title(f"Consultation {c.public_id}")
st.caption(f"Submitted {c.created_at:%Y-%m-%d %H:%M} UTC · {plain(progress_text(c, utcnow()))}"
           f" · {views.STATUS_SHORT[c.status]}"
           + (f" by {plain(c.claimed_by.username)}" if c.claimed_by and c.status == Status.IN_REVIEW else "")
           + (" · demo data" if c.is_demo else ""))
history.panel(c, clinician)  # a follow-up: the patient's earlier consultations beside this one (issue 19)
photos_column, side_column = st.columns([3, 2], gap="large")
with photos_column:
    rounds = {r.id: r.round for r in c.requests}
    tabs = st.tabs([f"Photo {image.position + 1}" + (f" (answer {rounds[image.request_id]})" if image.request_id
                                                     else "") for image in c.images])
    for tab, image in zip(tabs, c.images):
        p = image.prediction
        with tab:
            show_photo(c.public_id, image)  # its own map toggle and zoom
            if p is None:
                st.caption("No model output for this photo.")
                continue
            views.probability_bar(p.p_psoriasis, p.threshold)
            flags = [name for name, on in (("uncertain", p.uncertain), ("out of scope", p.out_of_scope)) if on]
            st.caption(f"Model: **{views.label(p.label)}** at threshold {p.threshold:.2f}"
                       + (f" · :orange[{', '.join(flags)}]" if flags else "")
                       + (f" · OOD score {p.ood_score:.2f}" if p.ood_score is not None else "")
                       + f"  \nModel {p.model_version} · sha256 {p.model_sha256[:12]} · T={p.temperature:.2f}")
            issues = image.capture.get("quality", {}).get("issues") or []
            if issues:
                st.caption("Photo quality: " + ", ".join(i.replace("_", " ") for i in issues))

side_column.subheader("History")
# st.table renders Markdown in its cells: every answer is shown as escaped plain text.
side_column.table(pd.DataFrame(
    {"Patient's answer": [plain(value) if value else "—" for value in (
        c.age_band, c.sex, c.duration, c.itch, c.scalp_site, c.previous_treatment, c.image_source,
        f"version {c.consent_version}")]},
    index=["Age", "Sex", "Duration", "Itch", "Scalp site", "Treatments tried", "Photos from", "Consent"],
))
if c.free_text:
    side_column.markdown("**In the patient's words**")
    side_column.text(c.free_text)
for review in c.reviews:
    side_column.markdown(f"**Review by {plain(review.clinician.username)}** ({review.created_at:%Y-%m-%d %H:%M} UTC): "
                         f"{views.label(review.diagnosis)}"
                         + (f": {plain(review.diagnosis_other)}" if review.diagnosis_other else "")
                         + (f" · course: {views.course(review.course).lower()}" if review.course else ""))
    side_column.text(review.notes or "(no notes)")
for asked in c.requests:  # each round: what was asked, what came back and when
    side_column.markdown(f"**Round {asked.round}: asked by {plain(asked.requested_by.username)}** "
                         f"({asked.created_at:%Y-%m-%d %H:%M} UTC): "
                         + ", ".join(NEED_SHORT.get(n, n).lower() for n in asked.needs))
    side_column.text(asked.message)
    if asked.answered_at is None:
        side_column.caption("Not answered yet.")
        continue
    sent = [f"Photo {i.position + 1}" for i in c.images if i.request_id == asked.id]
    side_column.markdown(f"**Patient's answer** ({asked.answered_at:%Y-%m-%d %H:%M} UTC)"
                         + (f": {', '.join(sent)}" if sent else ": no photo"))
    side_column.text(asked.answer_text or "(no text)")
side_column.subheader("Dermatologist's review")

if c.status in (Status.REVIEWED, Status.CLOSED):
    side_column.info("This consultation has been reviewed.", icon=":material/task_alt:")
    side_column.page_link("pages/queue.py", label="Back to the queue", icon=":material/inbox:")
    st.stop()
if c.status == Status.AWAITING_PATIENT:
    side_column.info("More information was asked of the patient; the consultation comes back to the top of the "
                     "queue when the patient answers.", icon=":material/hourglass_top:")
    side_column.page_link("pages/queue.py", label="Back to the queue", icon=":material/inbox:")
    st.stop()
if c.status == Status.IN_REVIEW and c.claimed_by_id != clinician.id and not clinician.is_admin:
    reviewer = plain(c.claimed_by.username) if c.claimed_by else "Another clinician"
    side_column.warning(f"{reviewer} is reviewing this consultation.")
    st.stop()

templates = note_templates.available(clinician)
note_templates.picker(side_column, clinician, templates, f"rv_notes_{c.public_id}")  # before the notes widget
with side_column.form(f"review_{c.public_id}"):
    diagnosis = st.radio("Diagnosis", list(Diagnosis), format_func=views.label, index=None,
                         key=f"rv_diagnosis_{c.public_id}")
    specified = st.text_input("If another condition: which one (required with it)", key=f"rv_other_{c.public_id}",
                              max_chars=MAX_SPECIFIED)
    course = st.radio("Since the earlier consultation, it is", COURSES, format_func=views.course, index=None,
                      horizontal=True, key=f"rv_course_{c.public_id}") if c.follow_up_of_id is not None else None
    notes = st.text_area("Notes for the patient", key=f"rv_notes_{c.public_id}",
                         help="The patient reads these with the access code. Write in plain language.")
    agrees = st.radio("Do you agree with the model?", list(AGREES), index=None, horizontal=True,
                      key=f"rv_agrees_{c.public_id}")
    buttons = st.columns(2)
    save_next = buttons[0].form_submit_button("Save and next", type="primary", width="stretch")
    save = buttons[1].form_submit_button("Save", width="stretch")
if save or save_next:
    if diagnosis is None:
        side_column.error("Choose a diagnosis before saving.")
        st.stop()
    del st.session_state["review_loaded"]  # reload after saving or after a failed save (e.g. claimed meanwhile)
    # "Save and next" stays in the queue the case was opened from (its filters: pages/queue.py).
    queue = st.session_state.get("review_queue", QueueFilter()) if save_next else None
    with res.friendly_errors(operator=True):
        saved = save_review(res.get_database(), c, clinician, diagnosis, notes, AGREES.get(agrees), next_in=queue,
                            specified=specified, course=course)
    st.session_state["review_notice"] = f"Review of {c.public_id} saved."
    if save_next and saved.next_public_id:
        st.session_state["review_public_id"] = saved.next_public_id
    elif save_next:
        del st.session_state["review_public_id"]
        st.session_state["review_notice"] += " No consultation is waiting" + (
            " in this queue." if queue != QueueFilter() else ".")
    st.rerun()

with side_column.expander("Ask the patient for more information", icon=":material/add_a_photo:"):
    with st.form(f"ask_{c.public_id}"):
        needs = st.multiselect("What is needed", list(NEEDS), format_func=NEED_SHORT.get, key=f"rq_needs_{c.public_id}")
        message = st.text_area("Message to the patient", key=f"rq_message_{c.public_id}", max_chars=MAX_MESSAGE,
                               help="The patient reads it with the access code, beside the list above.")
        ask = st.form_submit_button("Send the request", icon=":material/send:")
if ask:
    del st.session_state["review_loaded"]
    with res.friendly_errors(operator=True):
        round_number = ask_patient(res.get_database(), c, clinician, needs, message)
    st.session_state["review_notice"] = (f"Request {round_number} sent for {c.public_id}: it waits for the patient "
                                         "and comes back to the top of the queue when answered.")
    st.rerun()

note_templates.editor(side_column, clinician, templates)  # create, change, delete (issue 19)
