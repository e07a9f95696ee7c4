"""How numbers read to a patient (no Streamlit: the PDF summary uses these too)."""
from __future__ import annotations


def about_percent(p: float) -> str:
    """A probability (0..1) as a share without false precision: to the nearest 5 %, "under 5%" / "over 95%".

    The demonstration model learnt from a few hundred photos: a figure such as 31% claims a precision it
    does not have; "about 30%" does not.
    """
    rounded = int(min(max(p, 0.0), 1.0) * 20 + 0.5) * 5
    if rounded < 5:
        return "under 5%"
    if rounded > 95:
        return "over 95%"
    return f"about {rounded}%"


def threshold_percent(threshold: float) -> str:
    """The service's referral threshold (a set value, not an estimate), as a whole percentage."""
    return f"{round(threshold * 100)}%"


# What to do next, per dermatologist's conclusion (general advice; the dermatologist's own notes come first).
NEXT_STEPS = {
    "psoriasis": ("Scalp psoriasis is common and treatable but tends to come back. A medicated shampoo or scalp "
                  "treatment prescribed by your doctor usually helps within weeks; see your doctor for a "
                  "prescription, and again if it spreads, if joints ache, or if it does not improve."),
    "seborrheic_dermatitis": ("Seborrheic dermatitis (dandruff-like eczema) usually settles with an anti-fungal "
                              "shampoo (for example ketoconazole) used two or three times a week; a pharmacist can "
                              "advise. See your doctor if it does not improve within a month."),
    "other": ("The dermatologist thinks it is another condition. Please see your doctor to discuss it, taking this "
              "conclusion with you."),
    "needs_in_person_visit": ("The dermatologist would like to see you in person. Please book an appointment with "
                              "a dermatologist or your doctor."),
}


# A request for more information (issue 19): each need as the dermatologist picks it, and as the patient reads it.
NEED_SHORT = {"same_area": "Another photo of the same area", "closer": "A closer photo", "hairline": "The hairline",
              "nails": "The nails", "elbows": "The elbows", "knees": "The knees", "question": "An answer to a question"}
NEED_PATIENT = {
    "same_area": "another photo of the same area of your scalp, in good light",
    "closer": "a closer photo: hold the phone about 10 cm (a hand's width) from the skin, and part the hair",
    "hairline": "a photo of your hairline (forehead and temples)",
    "nails": "a photo of your fingernails and toenails",
    "elbows": "a photo of your elbows",
    "knees": "a photo of your knees",
    "question": "an answer to the dermatologist's question below",
}
