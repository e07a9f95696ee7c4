"""How numbers and advice read to a patient (no Streamlit: the PDF summary uses these too).

Tables hold English text marked for the catalog (``N_``); they are translated where shown (``_``), in the
language of the session that shows them.
"""
from __future__ import annotations

from collections.abc import Callable

from i18n import N_, _, gettext
from i18n.formats import joined, number


def about_percent(p: float, language: str | None = None) -> str:
    """A probability (0..1) as a share without false precision: to the nearest 5 %, "under 5%" / "over 95%",
    in ``language`` (default: the session's).

    The demonstration model learnt from a few hundred photos: a figure such as 31% claims a precision it
    does not have; "about 30%" does not.
    """
    rounded = int(min(max(p, 0.0), 1.0) * 20 + 0.5) * 5
    if rounded < 5:
        return gettext("under {percent}%", language).format(percent=number(5, language=language))
    if rounded > 95:
        return gettext("over {percent}%", language).format(percent=number(95, language=language))
    return gettext("about {percent}%", language).format(percent=number(rounded, language=language))


def threshold_percent(threshold: float) -> str:
    """The service's referral threshold (a set value, not an estimate), as a whole percentage."""
    return f"{number(round(threshold * 100))}%"


# What to do next, per dermatologist's conclusion (general advice; the dermatologist's own notes come first).
NEXT_STEPS = {
    "psoriasis": N_("Scalp psoriasis is common and treatable but tends to come back. A medicated shampoo or scalp "
                    "treatment prescribed by your doctor usually helps within weeks; see your doctor for a "
                    "prescription, and again if it spreads, if joints ache, or if it does not improve."),
    "seborrheic_dermatitis": N_("Seborrheic dermatitis (dandruff-like eczema) usually settles with an anti-fungal "
                                "shampoo (for example ketoconazole) used two or three times a week; a pharmacist can "
                                "advise. See your doctor if it does not improve within a month."),
    "other": N_("The dermatologist thinks it is another condition. Please see your doctor to discuss it, taking "
                "this conclusion with you."),
    "needs_in_person_visit": N_("The dermatologist would like to see you in person. Please book an appointment "
                                "with a dermatologist or your doctor."),
}


# A request for more information (issue 19): each need as the dermatologist picks it, and as the patient reads it.
NEED_SHORT = {"same_area": N_("Another photo of the same area"), "closer": N_("A closer photo"),
              "hairline": N_("The hairline"), "nails": N_("The nails"), "elbows": N_("The elbows"),
              "knees": N_("The knees"), "question": N_("An answer to a question")}
NEED_PATIENT = {
    "same_area": N_("another photo of the same area of your scalp, in good light"),
    "closer": N_("a closer photo: hold the phone about 10 cm (a hand's width) from the skin, and part the hair"),
    "hairline": N_("a photo of your hairline (forehead and temples)"),
    "nails": N_("a photo of your fingernails and toenails"),
    "elbows": N_("a photo of your elbows"),
    "knees": N_("a photo of your knees"),
    "question": N_("an answer to the dermatologist's question below"),
}

# The form's answers as stored (db.consultations: AGE_BANDS, SEXES, DURATIONS, ITCH_LEVELS, SCALP_SITES) and
# as a patient reads them; the stored value stays English whatever the language of the form.
ANSWERS = {
    "under 18": N_("under 18"), "18–39": "18–39", "40–64": "40–64", "65 or older": N_("65 or older"),
    "female": N_("female"), "male": N_("male"), "other / prefer not to say": N_("other / prefer not to say"),
    "under 4 weeks": N_("under 4 weeks"), "1–6 months": N_("1–6 months"), "6–12 months": N_("6–12 months"),
    "over a year": N_("over a year"),
    "none": N_("none"), "mild": N_("mild"), "moderate": N_("moderate"), "severe": N_("severe"),
    "hairline": N_("hairline"), "top": N_("top"), "back": N_("back"), "sides": N_("sides"),
    "behind the ears": N_("behind the ears"), "whole scalp": N_("whole scalp"),
}


def answer(value: str | None) -> str | None:
    """A stored answer (one of the form's lists; scalp sites joined by ", ") in the session's language."""
    if value is None:
        return None
    if value in ANSWERS:
        return _(ANSWERS[value])
    parts = value.split(", ")
    if all(part in ANSWERS for part in parts):
        return joined([_(ANSWERS[part]) for part in parts])
    return value


def answers(values: tuple[str, ...] | list[str]) -> Callable[[object], str]:
    """A widget's format_func: a stored answer of the list in the session's language.

    A value outside the list (a modified client's, kept in the session until the form refuses it) is shown as
    it is, so drawing the widget never fails on it.
    """
    words = {value: answer(value) or value for value in values}
    return lambda value: words.get(value, str(value))  # type: ignore[arg-type]


# scalp_model.serving.quality's advice per issue, as the patient reads it (the model core writes English for
# its own reports and command lines; tests/i18n checks these stay the same English sentences).
QUALITY_ADVICE = {
    "low_resolution": N_("The photo is small: move closer or use the camera's full resolution."),
    "blurry": N_("The photo looks blurred: hold the camera steady, tap the scalp to focus, and retake."),
    "underexposed": N_("The photo is too dark: add more light (daylight by a window works well) and retake."),
    "overexposed": N_("The photo is washed out: avoid direct flash or sunlight and retake."),
}
QUALITY_TIP = N_("Part the hair so the affected skin is visible, and fill the frame with it.")


def quality_advice(issues: tuple[str, ...] | list[str]) -> list[str]:
    """What the patient can do about a photo's quality ``issues``, one sentence each and the general tip."""
    advice = [_(QUALITY_ADVICE[issue]) for issue in issues if issue in QUALITY_ADVICE]
    return advice + [_(QUALITY_TIP)] if issues else advice
