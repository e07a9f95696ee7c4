"""Home: what ScalpScope is and is not, who it is for, how long a review takes."""
import streamlit as st

from i18n import _, ngettext
from pages import _resources as res
from pages import _views as views

st.title("ScalpScope")
st.markdown("#### " + _("A dermatologist's opinion on a flaky, itchy scalp — from your photos"))
# The main action first: on a phone the columns below stack, and a link at the end was three screens down.
actions = st.columns(2)
actions[0].page_link("pages/new_consultation.py", label=_("**Start a new consultation**"),
                     icon=":material/add_a_photo:")
actions[1].page_link("pages/my_consultation.py", label=_("I have an access code"), icon=":material/key:")

left, right = st.columns(2, gap="large")
with left:
    st.markdown(_(
        "**What it is.** You answer a few questions and send one to three photos of your scalp. "
        "A computer model trained on scalp photos estimates whether the pattern looks more like "
        "**scalp psoriasis** or **seborrheic dermatitis** (dandruff-like eczema), and shows which areas it "
        "looked at. A **dermatologist** then reviews every consultation and writes you a conclusion.\n\n"
        "**Who it is for.** Adults (and parents of children) with a red, scaly or itchy scalp who want to "
        "know which of these two common conditions it is likely to be."
    ))
with right:
    st.warning(_(
        "**What it is not.** The computer estimate is **not a diagnosis** and does not replace seeing a "
        "doctor. ScalpScope is **not for emergencies**: if you feel very unwell, have a fever, a rapidly "
        "spreading rash, or hair loss with pain or pus, contact a doctor or your local emergency number now."),
        icon=":material/warning:",
    )

st.subheader(_("How long does it take?"))
with res.friendly_errors(stop=False):
    stats = res.cached_turnaround()
    if stats.quotable:
        st.markdown(ngettext(
            "Of the {count} consultation reviewed so far, half were answered within **{median}** and nine in "
            "ten within **{p90}**.",
            "Of the {count} consultations reviewed so far, half were answered within **{median}** and nine in "
            "ten within **{p90}**.", stats.count).format(
                count=stats.count, median=views.format_duration(stats.median), p90=views.format_duration(stats.p90)))
    else:
        st.markdown(_("Dermatologists review consultations in order of priority. Typical answer times "
                      "appear here once the service has reviewed its first consultations."))

st.subheader(_("How it works"))
steps = st.columns(3)
steps[0].markdown(_("**1. Send photos**  \nConsent, a short questionnaire, 1–3 photos. "
                    "You get a private **access code**."))
steps[1].markdown(_("**2. See the estimate**  \nRight away: the model's estimate and the areas it "
                    "looked at, with a PDF summary."))
steps[2].markdown(_("**3. Read the conclusion**  \nEnter your code under **My consultation** to read "
                    "the dermatologist's conclusion."))
