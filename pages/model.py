"""Model: the model card beside the checkpoint, its ROC and reliability plots, limitations and version."""
import streamlit as st

from scalp_model import settings
from scalp_model.serving.checkpoint import card_path
from pages import _auth as auth
from pages import _model_admin as model_admin
from pages import _resources as res
from pages import _views as views
from security.text import plain

LIMITATIONS = """
- It only knows **two conditions**: scalp psoriasis and seborrheic dermatitis. Every photo gets a score
  between the two, even when the scalp shows something else (tinea, lichen planus, lupus, alopecia…).
- It was trained on a limited set of photos; skin tones, hair types, cameras and lighting that were rare in
  training are likely to be handled worse. Phone photos and dermoscopy images differ.
- The out-of-scope check flags photos unlike the training data, but it misses some.
- The attention map (Grad-CAM) shows which areas weighed most in the score. It is not a segmentation of
  the lesions and can highlight hair, background or artefacts.
- Any calibration of the score was done on held-out data, not on this service's patients. A dermatologist reviews every
  consultation; the score is only used to sort the queue.
"""

st.title("The model")
st.caption("After Yu et al. 2022: a GoogLeNet classifier on 224×224 pictures, with Grad-CAM maps.")
admin = auth.current_clinician()
admin = admin if admin is not None and admin.is_admin else None
try:
    predictor = res.get_predictor()
except res.USER_ERRORS as exc:
    res.show_error(exc, operator=True)
    st.info(f"The app reads the checkpoint named by `SCALPSCOPE_WEIGHTS` (now `{settings.weights_path()}`), or "
            "the model an administrator activated. Patients cannot submit photos until it loads.",
            icon=":material/info:")
    if admin is not None:
        model_admin.registry_section(admin)  # activating another model is the way out
    st.stop()

meta = predictor.meta
# The version is text of any length: a line of its own that wraps, not a metric tile that cuts it off.
st.markdown(f"**Version** {plain(meta.version)}")
columns = st.columns(3)
columns[0].metric("Decision threshold", f"{meta.threshold:.2f}",
                  help="P(psoriasis) at or above this reads as psoriasis.")
columns[1].metric("Uncertain band", f"± {meta.uncertain_band:.2f}")
columns[2].metric("Temperature", f"{meta.temperature:.2f}", help="Calibration: logits are divided by this.")
st.caption(f"{meta.architecture}, input {meta.input_size}×{meta.input_size}, classes "
           f"{', '.join(views.label(c) for c in meta.class_names)} · created {meta.created or 'unknown'} · "
           f"sha256 {predictor.sha256[:16]}… · running on {predictor.device}")

weights = predictor.checkpoint.path or settings.weights_path()
card = card_path(weights)
plots = sorted(weights.parent.glob(f"{weights.stem}_*.png"))
if plots:
    st.subheader("Evaluation plots")
    for column, plot in zip(st.columns(min(len(plots), 3)) * len(plots), plots):
        column.image(str(plot), caption=plot.stem.removeprefix(weights.stem + "_").replace("_", " "), width="stretch")

st.subheader("Limitations")
st.markdown(LIMITATIONS)

st.subheader("Model card")
if card.is_file():
    with st.container(border=True):
        st.markdown(card.read_text(encoding="utf-8"))
else:
    st.warning(f"No model card next to the checkpoint (expected `{card.name}`).")
    if meta.metrics:
        st.markdown("Metrics recorded in the checkpoint:")
        st.json(meta.metrics, expanded=1)

if admin is not None:
    model_admin.registry_section(admin)
