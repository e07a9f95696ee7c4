"""Model: the model card beside the checkpoint, its ROC and reliability plots, limitations and version."""
import streamlit as st

from i18n import DEFAULT, N_, _, current_language
from i18n.formats import joined
from scalp_model import settings
from scalp_model.serving.checkpoint import card_path
from pages import _auth as auth
from pages import _model_admin as model_admin
from pages import _resources as res
from pages import _views as views
from security.text import plain

# One catalog entry per point (translated where shown), drawn as a Markdown list.
LIMITATIONS = (
    N_("It only knows **two conditions**: scalp psoriasis and seborrheic dermatitis. Every photo gets a score "
       "between the two, even when the scalp shows something else (tinea, lichen planus, lupus, alopecia…)."),
    N_("It was trained on a limited set of photos; skin tones, hair types, cameras and lighting that were rare in "
       "training are likely to be handled worse. Phone photos and dermoscopy images differ."),
    N_("The out-of-scope check flags photos unlike the training data, but it misses some."),
    N_("The attention map (Grad-CAM) shows which areas weighed most in the score. It is not a segmentation of "
       "the lesions and can highlight hair, background or artefacts."),
    N_("Any calibration of the score was done on held-out data, not on this service's patients. A dermatologist "
       "reviews every consultation; the score is only used to sort the queue."),
)
# The evaluation plots' names (<checkpoint>_<name>.png, scalp_model.training.evaluate) as captions.
PLOT_WORDS = {"reliability": N_("reliability")}

st.title(_("The model"))
st.caption(_("After Yu et al. 2022: a GoogLeNet classifier on 224×224 pictures, with Grad-CAM maps."))
admin = auth.current_clinician()
admin = admin if admin is not None and admin.is_admin else None
try:
    predictor = res.get_predictor()
except res.USER_ERRORS as exc:
    res.show_error(exc, operator=True)
    st.info(_("The app reads the checkpoint named by `SCALPSCOPE_WEIGHTS` (now `{path}`), or the model an "
              "administrator activated. Patients cannot submit photos until it loads.").format(
                  path=settings.weights_path()),
            icon=":material/info:")
    if admin is not None:
        model_admin.registry_section(admin)  # activating another model is the way out
    st.stop()

meta = predictor.meta
# The version is text of any length: a line of its own that wraps, not a metric tile that cuts it off.
st.markdown(_("**Version** {version}").format(version=plain(meta.version)))
columns = st.columns(3)
columns[0].metric(_("Decision threshold"), f"{meta.threshold:.2f}",
                  help=_("P(psoriasis) at or above this reads as psoriasis."))
columns[1].metric(_("Uncertain band"), f"± {meta.uncertain_band:.2f}")
columns[2].metric(_("Temperature"), f"{meta.temperature:.2f}", help=_("Calibration: logits are divided by this."))
st.caption(_("{architecture}, input {size}×{size}, classes {classes} · created {created} · sha256 {sha256}… · "
             "running on {device}").format(
    architecture=meta.architecture, size=meta.input_size, classes=joined([views.label(c) for c in meta.class_names]),
    created=meta.created or _("unknown"), sha256=predictor.sha256[:16], device=predictor.device))

weights = predictor.checkpoint.path or settings.weights_path()
card = card_path(weights)
plots = sorted(weights.parent.glob(f"{weights.stem}_*.png"))
if plots:
    st.subheader(_("Evaluation plots"))
    for column, plot in zip(st.columns(min(len(plots), 3)) * len(plots), plots):
        name = plot.stem.removeprefix(weights.stem + "_")
        column.image(str(plot), caption=_(PLOT_WORDS[name]) if name in PLOT_WORDS else name.replace("_", " "),
                     width="stretch")

st.subheader(_("Limitations"))
st.markdown("\n".join(f"- {_(point)}" for point in LIMITATIONS))

st.subheader(_("Model card"))
if card.is_file():
    if current_language() != DEFAULT:  # the card is the checkpoint's own document, written once, in English
        st.caption(_("The model card is shown as it was written with the checkpoint, in English: it is not "
                     "translated."))
    with st.container(border=True):
        st.markdown(card.read_text(encoding="utf-8"))
else:
    st.warning(_("No model card next to the checkpoint (expected `{name}`).").format(name=card.name))
    if meta.metrics:
        st.markdown(_("Metrics recorded in the checkpoint:"))
        st.json(meta.metrics, expanded=1)

if admin is not None:
    model_admin.registry_section(admin)
