"""Small display pieces used by more than one page: names, the probability bar, the plain-language verdict."""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

import streamlit as st

from db.consultations import Estimate
from i18n import N_, _
from pages import _language  # noqa: F401 - registers the session's language for i18n._
from pages._progress import span
from pages._wording import about_percent, threshold_percent
from scalp_model.serving.predictor import label_for

# Tables hold English marked for the catalog (N_); the functions below translate them where they are shown.
LABELS = {
    "psoriasis": N_("Psoriasis"),
    "seborrheic_dermatitis": N_("Seborrheic dermatitis"),
    "other": N_("Another condition"),
    "needs_in_person_visit": N_("Needs an in-person visit"),
    "tinea_capitis": N_("Tinea capitis (fungal infection of the scalp)"),
    "alopecia_areata": N_("Alopecia areata"),
    "lichen_planopilaris": N_("Lichen planopilaris"),
    "contact_dermatitis": N_("Contact dermatitis"),
}
STATUS_TEXT = {
    "submitted": N_("Received — waiting for a dermatologist"),
    "in_review": N_("A dermatologist is looking at your photos"),
    "awaiting_patient": N_("The dermatologist needs more information from you"),
    "reviewed": N_("Reviewed by a dermatologist"),
    "closed": N_("Reviewed and closed"),
}
STATUS_SHORT = {"submitted": N_("Waiting"), "in_review": N_("In review"), "awaiting_patient": N_("Waiting for patient"),
                "reviewed": N_("Reviewed"), "closed": N_("Closed")}
# A follow-up's course since the earlier consultation (issue 19): as the dermatologist records it, and as the
# patient reads it after "Since your earlier consultation, the dermatologist finds it …".
COURSE_SHORT = {"better": N_("Better"), "same": N_("About the same"), "worse": N_("Worse")}
COURSE_PATIENT = {"better": N_("better"), "same": N_("about the same"), "worse": N_("worse")}
# An account's stored role (db.models.Role) as people read it where it is shown (the sidebar, the study set-up).
ROLE_WORDS = {"dermatologist": N_("dermatologist"), "admin": N_("administrator")}
PSORIASIS_COLOUR, SEBDERM_COLOUR = "#b5475b", "#3f7fa6"
MAP_CAPTION = N_("Warm colours show the areas that weighed most in the estimate. "
                 "They are not a map of the disease.")


def listing_key(prefix: str, labels: dict[str, str]) -> str:
    """A widget key for a picker over ``labels`` (option -> shown words) that changes whenever they change, so
    the browser draws a fresh picker and what it shows is what it returns; ``prefix`` plus 12 hex digits."""
    digest = hashlib.sha256("\x1f".join(f"{k}\x1e{v}" for k, v in labels.items()).encode()).hexdigest()
    return f"{prefix}_{digest[:12]}"


def words_for(values: Iterable[Any], describe: Callable[[Any], str]) -> Callable[[Any], str]:
    """A widget's ``format_func`` with each option's words computed now, in this run's language (Streamlit may
    format options outside the script run, where the session's language is not known); other values as text."""
    words = {value: describe(value) for value in values}
    return lambda value: words.get(value, str(value))


def label(value: str | None) -> str:
    """A diagnosis code in the session's language ("—" for none)."""
    return _(LABELS[value]) if value in LABELS else (value or "—")


def status_text(value: str) -> str:
    """A status as the patient reads it, in the session's language."""
    return _(STATUS_TEXT[value]) if value in STATUS_TEXT else value


def course_patient(value: str | None) -> str | None:
    """A course code as the patient reads it ("better"), in the session's language; None for none."""
    return _(COURSE_PATIENT[value]) if value in COURSE_PATIENT else None


def course(value: str | None) -> str:
    """A course code (better, same, worse) as the clinician reads it; "—" for none."""
    return _(COURSE_SHORT[value]) if value in COURSE_SHORT else (value or "—")


def role(value: str, demo: bool = False) -> str:
    """An account's role in the session's language ("dermatologist", "administrator"), and that it is a demo
    account; an unknown role as stored."""
    words = _(ROLE_WORDS[value]) if value in ROLE_WORDS else value
    return _("{role}, demo").format(role=words) if demo else words


def probability_bar(p_psoriasis: float, threshold: float | None = None, band: float | None = None) -> None:
    """Psoriasis vs seborrheic dermatitis as one two-coloured bar, both shares written out (to 5 %), with
    the service's referral threshold marked on it and, when known, the uncertain band around it shaded:
    the bar shows the same decision rule as the verdict (:func:`verdict`)."""
    pso = min(max(p_psoriasis, 0.0), 1.0) * 100
    pso_text, seb_text = about_percent(p_psoriasis), about_percent(1 - p_psoriasis)
    pso_name, seb_name = _("Psoriasis"), _("Seborrheic dermatitis")
    marks, legend, aria = "", "", _("Psoriasis {pso}, seborrheic dermatitis {seb}").format(pso=pso_text, seb=seb_text)
    if threshold is not None:
        t = min(max(threshold, 0.0), 1.0) * 100
        if band:
            low, high = max(t - band * 100, 0.0), min(t + band * 100, 100.0)
            marks += (f'<div style="position:absolute;left:{low:.2f}%;width:{high - low:.2f}%;top:0;bottom:0;'
                      'background:repeating-linear-gradient(45deg,rgba(255,255,255,.55) 0 3px,transparent 3px 6px)">'
                      '</div>')
        marks += (f'<div style="position:absolute;left:calc({t:.2f}% - 1.5px);width:3px;top:-0.2rem;bottom:-0.2rem;'
                  'background:#111"></div>')
        legend = (f'<div style="position:relative;height:1.1rem;font-size:0.8rem">'
                  f'<span style="position:absolute;left:{t:.2f}%;transform:translateX(-{t:.0f}%);white-space:nowrap">'
                  + '▲ ' + _("referral threshold {percent}").format(percent=threshold_percent(threshold))
                  + (' ' + _("(shaded: too close to call)") if band else '') + '</span></div>')
        aria += "; " + _("the service's referral threshold is {percent}").format(percent=threshold_percent(threshold))
    st.markdown(
        f'<div role="img" aria-label="{aria}">'
        '<div style="display:flex;justify-content:space-between;font-size:0.95rem;margin-bottom:0.25rem">'
        f'<span><b>{pso_name} {pso_text}</b></span><span><b>{seb_name} {seb_text}</b></span></div>'
        '<div style="position:relative;margin:0.2rem 0">'
        '<div style="display:flex;height:0.9rem;border-radius:0.45rem;overflow:hidden">'
        f'<div style="width:{pso:.2f}%;background:{PSORIASIS_COLOUR}"></div>'
        f'<div style="flex:1;background:{SEBDERM_COLOUR}"></div></div>{marks}</div>{legend}</div>',
        unsafe_allow_html=True,  # numbers only; nothing from the patient goes in here
    )


OUT_OF_SCOPE_TEXT = N_("This photo does not look like the scalp photos the model learnt from (it may show another "
                     "body part, be too far away, or be unusual in another way), so the model gives no estimate "
                     "for it; the dermatologist will look at the photo itself.")


def verdict(prediction: Estimate) -> tuple[str, str]:
    """(kind, sentence) for a patient: kind is 'warning' when the estimate should not be leaned on.

    ``prediction`` is a ``scalp_model`` Prediction or a stored ``db`` prediction (both
    ``db.consultations.Estimate``). The words follow the service's decision rule
    (``scalp_model.serving.predictor.label_for``), as the bar shows it: P(psoriasis) against the referral
    threshold (not against 50 %), "too close to call" inside the uncertain band, and no estimate at all
    for an out-of-scope photo.
    """
    if prediction.out_of_scope:
        return "warning", _(OUT_OF_SCOPE_TEXT)
    p, threshold = prediction.p_psoriasis, prediction.threshold
    flagged = label_for(p, threshold) == "psoriasis"
    values = {"estimate": about_percent(p), "threshold": threshold_percent(threshold)}
    estimate = (_("The model's estimate for psoriasis, {estimate}, is above the service's referral threshold of "
                  "{threshold}") if flagged else
                _("The model's estimate for psoriasis, {estimate}, is below the service's referral threshold of "
                  "{threshold}")).format(**values)
    if prediction.uncertain:
        return "warning", _("{estimate}, but too close to it to call: the model could not clearly tell the two "
                            "conditions apart on this photo. That is often the case with these two conditions; "
                            "the dermatologist will decide.").format(estimate=estimate)
    if flagged:
        return "info", _("{estimate}: the service flags this photo as **possible psoriasis** for the "
                         "dermatologist. This is not a diagnosis: a dermatologist will review your photos."
                         ).format(estimate=estimate)
    return "info", _("{estimate}: the photo is closer to the **seborrheic dermatitis** photos the model learnt "
                     "from. This is not a diagnosis: a dermatologist will review your photos."
                     ).format(estimate=estimate)


def show_verdict(kind: str, text: str) -> None:
    (st.warning if kind == "warning" else st.info)(text)


def show_estimate(prediction: Estimate) -> None:
    """The bar and the verdict from one decision rule; an out-of-scope photo gets the warning *instead*."""
    if prediction.out_of_scope:
        show_verdict(*verdict(prediction))
        return
    probability_bar(prediction.p_psoriasis, prediction.threshold, getattr(prediction, "uncertain_band", None))
    show_verdict(*verdict(prediction))


def format_duration(delta: timedelta | None) -> str:
    """A waiting time to one decimal ("14 min", "6.0 h", "11.2 days", as ``db.triage.span_text``) in the
    session's language; "—" for none."""
    return "—" if delta is None else span(delta)


ACCESS_CODE_KEY = "access_code"  # the container's CSS class is st-key-access_code (browser tests find it)
# One line on any screen: 34 monospace characters at 3.6 % of the viewport width each fit a 390 px phone
# beside the copy button (they wrapped there, splitting the code); 1.5 rem at most on a desktop. The copy
# button is always shown (Streamlit shows it only while the pointer is over the block; phones have none).
ACCESS_CODE_STYLE = ("<style>.st-key-access_code code{white-space:nowrap !important;"
                     "font-size:clamp(0.7rem,3.6vw,1.5rem)}"
                     ".st-key-access_code [data-testid=stCode] > div,"
                     ".st-key-access_code [data-testid=stCode] > div *{opacity:1 !important;"
                     "visibility:visible !important}</style>")


def remind_unseen_access_code(code: str | None) -> None:
    """On any other page: the access code of a consultation that was stored after the patient left the New
    consultation page (its results were never drawn in full), so the code still reaches them."""
    if code is None:
        return
    with st.container(border=True):
        st.warning(_("Your consultation was sent and stored while you opened another page. Its access code is "
                     "below: copy it now, you need it to read the dermatologist's conclusion."),
                   icon=":material/key:")
        show_access_code(code)
        st.page_link("pages/new_consultation.py", label=_("See the estimate and download the PDF summary"),
                     icon=":material/arrow_forward:")


def show_access_code(code: str) -> None:
    """The code large and alone in its block (a triple-click selects exactly the code) with a copy button.

    ``st.code`` for its copy button (``navigator.clipboard.writeText``; allowed by the Content-Security-Policy,
    checked in Chromium by tests/app/test_browser_walks.py). The price: the first ``st.code`` on a page makes
    the browser load Streamlit's syntax-highlighting bundle, measured at ~0.55 s of CPU in headless Chromium.
    """
    with st.container(key=ACCESS_CODE_KEY):
        st.code(code, language=None)
        st.markdown(ACCESS_CODE_STYLE, unsafe_allow_html=True)  # fixed text, nothing from the patient


WHAT_NEXT = {
    "submitted": N_("A dermatologist will open your consultation and write a conclusion, which you read here with "
                 "your code. {when}"),
    "in_review": N_("A dermatologist is reading your photos and answers now. The conclusion usually appears here "
                 "soon; if more information is needed, a request will appear here instead."),
    "awaiting_patient": N_("Send what the dermatologist asks for below. Your consultation then goes back to the "
                        "dermatologist, ahead of new ones. {when}"),
    "reviewed": N_("Read the conclusion and its next steps below, and download it for your doctor. Nothing more is "
                "needed from you here."),
    "closed": N_("This consultation is finished: nothing more will happen to it. If your scalp changes or the "
              "treatment does not help, start a new consultation or see your doctor."),
}


def what_next(status: str, turnaround: object | None) -> str:
    """What happens next for a patient's consultation in ``status`` and roughly when, from the clinic's measured
    turnaround (``db.stats.Turnaround``: count, median, p90 of submit-to-review times), when there is one."""
    if getattr(turnaround, "quotable", False):
        median, p90 = turnaround.median, turnaround.p90  # type: ignore[union-attr]
        when = _("Over the last 30 days, half of the consultations here were reviewed within {median} of being "
                 "sent, and 9 in 10 within {p90}.").format(median=format_duration(median), p90=format_duration(p90))
    else:
        when = _("We cannot yet say how long a review takes here; please check again in a day or two.")
    text = _(WHAT_NEXT[status]).format(when=when) if status in WHAT_NEXT else ""
    return _("**What happens next:** {text}").format(text=text)
