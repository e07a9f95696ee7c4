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
