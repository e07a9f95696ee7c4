"""The review's panel of a patient's earlier consultations (issue 19, follow-ups): their photos side by side by
date with this consultation's, the model's output per photo and the earlier conclusions (diagnosis, course,
notes). Drawn by pages/review.py with :func:`panel`; the read is :func:`clinic.history.earlier_consultations`,
audited per earlier consultation, once per opening of the case (as the case itself)."""
from __future__ import annotations

import streamlit as st

from clinic.history import earlier_consultations
from i18n import N_, _, ngettext
from i18n.formats import joined
from pages import _resources as res
from pages import _views as views
from security.text import plain

MAX_SIDE_BY_SIDE = 3  # earlier consultations in columns beside this one; older ones can be picked instead
STATE = "review_history"  # (the opened case object, its Series): read again when the case is opened again
PANEL_KEY = "history_panel"  # CSS class st-key-history_panel (browser tests find the panel by it)
FLAG_WORDS = {"uncertain": N_("uncertain"), "out of scope": N_("out of scope")}


def _series(case, clinician):
    kept = st.session_state.get(STATE)
    if kept is None or kept[0] is not case:
        with res.friendly_errors(operator=True):
            kept = (case, earlier_consultations(res.get_database(), case, clinician))
        st.session_state[STATE] = kept
    return kept[1]


def _model_text(image) -> str:
    p = image.prediction
    if p is None:
        return _("Photo {number} · no model output").format(number=image.position + 1)
    flags = [_(FLAG_WORDS[name]) for name, on in (("uncertain", p.uncertain), ("out of scope", p.out_of_scope)) if on]
    return (_("Photo {number} · model: {label}, P(psoriasis) {p}").format(
                number=image.position + 1, label=views.label(p.label), p=f"{p.p_psoriasis:.2f}")
            + (f" ({joined(flags)})" if flags else ""))


def _conclusion(consultation) -> None:
    review = max(consultation.reviews, key=lambda r: (r.created_at, r.id), default=None)
    if review is None:
        status = consultation.status
        st.caption(_("Not reviewed ({status}).").format(
            status=(_(views.STATUS_SHORT[status]) if status in views.STATUS_SHORT else status).lower()))
        return
    st.markdown(_("**Conclusion:** {diagnosis}").format(diagnosis=views.label(review.diagnosis))
                + (f": {plain(review.diagnosis_other)}" if review.diagnosis_other else ""))
    if review.course:
        st.markdown(_("**Course:** {course}").format(course=views.course(review.course)))
    st.caption(_("By {name}, {date}").format(name=plain(review.clinician.username),
                                             date=f"{review.created_at:%Y-%m-%d}"))
    if review.notes:
        st.text(review.notes)  # the clinician's words, never Markdown


def _column(consultation, *, current: bool, maps: bool) -> None:
    st.markdown(f"**{consultation.created_at:%Y-%m-%d}**" + (" · " + _("this consultation") if current else ""))
    if consultation.reported_course:
        st.caption(_("The patient says: {course}").format(course=views.course(consultation.reported_course).lower()))
    for image in sorted(consultation.images, key=lambda i: i.position):
        p = image.prediction
        mapped = maps and p is not None and p.overlay_png is not None
        st.image(p.overlay_png if mapped else image.data, width="stretch", caption=_model_text(image))
    if current:
        st.caption(_("Under review now."))
    else:
        _conclusion(consultation)


def panel(case, clinician) -> None:
    """The earlier consultations of ``case``'s patient beside ``case`` (nothing when it has none)."""
    series = _series(case, clinician)
    if series.empty:
        return
    later = ngettext("{count} later follow-up of this patient exists.",
                     "{count} later follow-ups of this patient exist.", series.later).format(
                         count=series.later) if series.later else ""
    if not series.earlier:  # a first consultation that was followed up later
        st.caption(later)
        return
    title = _("Earlier consultations of this patient ({count})").format(count=len(series.earlier))
    with st.expander(title, expanded=True, icon=":material/history:"), st.container(key=PANEL_KEY):
        if case.follow_up_of_id is not None:
            follows = (_("This consultation follows up an earlier one (the patient gave its access code); the patient "
                         "says it is {course}. Record the course with the review.").format(
                             course=views.course(case.reported_course).lower()) if case.reported_course else
                       _("This consultation follows up an earlier one (the patient gave its access code). Record the "
                         "course with the review."))
            st.caption(follows + (" " + later if later else ""))
        elif later:
            st.caption(later)
        shown = series.earlier
        if len(shown) > MAX_SIDE_BY_SIDE:
            everyone = list(range(len(shown)))
            picked = st.multiselect(_("Earlier consultations beside this one"), everyone,
                                    default=everyone[-MAX_SIDE_BY_SIDE:], max_selections=MAX_SIDE_BY_SIDE,
                                    format_func=lambda i: f"{shown[i].created_at:%Y-%m-%d}",
                                    key=f"hx_pick_{case.public_id}")
            shown = [shown[i] for i in sorted(picked)]
        maps = st.toggle(_("Show the model's maps in this comparison"), key=f"hx_map_{case.public_id}")
        for column, consultation in zip(st.columns(len(shown) + 1), [*shown, case]):
            with column:
                _column(consultation, current=consultation is case, maps=maps)
