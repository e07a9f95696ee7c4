"""Small display pieces used by more than one page: names, the probability bar, the plain-language verdict."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import streamlit as st

LABELS = {
    "psoriasis": "Psoriasis",
    "seborrheic_dermatitis": "Seborrheic dermatitis",
    "other": "Another condition",
    "needs_in_person_visit": "Needs an in-person visit",
}
STATUS_TEXT = {
    "submitted": "Received — waiting for a dermatologist",
    "in_review": "A dermatologist is looking at your photos",
    "reviewed": "Reviewed by a dermatologist",
    "closed": "Reviewed and closed",
}
STATUS_SHORT = {"submitted": "Waiting", "in_review": "In review", "reviewed": "Reviewed", "closed": "Closed"}
PSORIASIS_COLOUR, SEBDERM_COLOUR = "#b5475b", "#3f7fa6"
MAP_CAPTION = ("Warm colours show the areas that weighed most in the estimate. "
               "They are not a map of the disease.")


def label(value: str | None) -> str:
    return LABELS.get(value or "", value or "—")


def probability_bar(p_psoriasis: float) -> None:
    """Psoriasis vs seborrheic dermatitis as one two-coloured bar, both shares written out."""
    pso = round(p_psoriasis * 100)
    st.markdown(
        f'<div role="img" aria-label="Psoriasis {pso}%, seborrheic dermatitis {100 - pso}%">'
        '<div style="display:flex;justify-content:space-between;font-size:0.95rem;margin-bottom:0.25rem">'
        f'<span><b>Psoriasis {pso}%</b></span><span><b>Seborrheic dermatitis {100 - pso}%</b></span></div>'
        '<div style="display:flex;height:0.9rem;border-radius:0.45rem;overflow:hidden">'
        f'<div style="width:{pso}%;background:{PSORIASIS_COLOUR}"></div>'
        f'<div style="flex:1;background:{SEBDERM_COLOUR}"></div></div></div>',
        unsafe_allow_html=True,  # numbers only; nothing from the patient goes in here
    )


def verdict(prediction: Any) -> tuple[str, str]:
    """(kind, sentence) for a patient: kind is 'warning' when the estimate should not be leaned on.

    ``prediction`` is a ``scalp_model`` Prediction or a stored ``db`` prediction (same field names).
    """
    if prediction.out_of_scope:
        return "warning", ("This photo does not look like the scalp photos the model learnt from (it may show "
                           "another body part, be too far away, or be unusual in another way). Its estimate "
                           "is not reliable for this photo; the dermatologist will look at the photo itself.")
    if prediction.uncertain:
        return "warning", ("The model could not clearly tell the two conditions apart on this photo. That is "
                           "often the case with these two conditions; the dermatologist will decide.")
    leaning = "psoriasis" if prediction.p_psoriasis >= prediction.threshold else "seborrheic dermatitis"
    return "info", (f"This photo looks more like the **{leaning}** photos the model learnt from. "
                    "This is not a diagnosis: a dermatologist will review your photos.")


def show_verdict(kind: str, text: str) -> None:
    (st.warning if kind == "warning" else st.info)(text)


def format_duration(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return f"{max(1, round(hours * 60))} min"
    if hours < 48:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


ACCESS_CODE_KEY = "access_code"  # the container's CSS class is st-key-access_code (browser tests find it)


def remind_unseen_access_code(code: str | None) -> None:
    """On any other page: the access code of a consultation that was stored after the patient left the New
    consultation page (its results were never drawn in full), so the code still reaches them."""
    if code is None:
        return
    with st.container(border=True):
        st.warning("Your consultation was sent and stored while you opened another page. Its access code is "
                   "below: copy it now, you need it to read the dermatologist's conclusion.",
                   icon=":material/key:")
        show_access_code(code)
        st.page_link("pages/new_consultation.py", label="See the estimate and download the PDF summary",
                     icon=":material/arrow_forward:")


def show_access_code(code: str) -> None:
    """The code large and alone in its block, so a triple-click selects exactly the code.

    Not ``st.code``: the first ``st.code`` on a page makes the browser load and evaluate Streamlit's
    syntax-highlighting bundle, measured at ~0.55 s of CPU in headless Chromium here (0.8 → 0.2 s from the
    click to the result on a minimal page), and more on a patient's phone.
    """
    with st.container(key=ACCESS_CODE_KEY):
        st.markdown(f"### `{code}`")
