"""The model page's administrator part (issue 20): the registered models, registering a checkpoint, activating
(and so rolling back) a model with a reason, shadow runs. Widgets only; the rules are in :mod:`clinic.models`."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from clinic import models
from db.model_registry import ModelEntry
from db.users import Clinician
from pages import _resources as res

STATE_WORDS = {"active": "active", "candidate": "candidate", "retired": "retired"}


def registry_section(admin: Clinician) -> None:
    """The registry for ``admin``: table, register, activate / roll back, shadow."""
    st.header("Registered models", anchor="registered-models")
    database = res.get_database()
    with res.friendly_errors(operator=True):
        entries = models.list_models(database)
    notice = st.session_state.pop("_model_admin_notice", None)
    if notice:
        st.success(notice, icon=":material/check_circle:")
    if entries:
        st.dataframe(pd.DataFrame([_row(e) for e in entries]), hide_index=True, width="stretch", key="model_registry")
    else:
        st.info("No model is registered yet: the app serves the checkpoint named by `SCALPSCOPE_WEIGHTS`. Register "
                "it below (or another checkpoint), then activate one.", icon=":material/info:")
    _register_form(admin)
    others = [e for e in entries if not e.is_active]
    if others:
        _activate_form(admin, others)
        _shadow_form(admin, others)


def _row(entry: ModelEntry) -> dict[str, object]:
    return {"Version": entry.version, "State": STATE_WORDS.get(entry.state, entry.state),
            "Shadow": "yes" if entry.shadow else "", "Architecture": entry.architecture,
            "Threshold": round(entry.threshold, 4), "sha256": entry.sha256[:12],
            "Registered": f"{entry.registered_at:%Y-%m-%d %H:%M} by {entry.registered_by}",
            "Activated": "" if entry.activated_at is None else f"{entry.activated_at:%Y-%m-%d %H:%M}"}


def _label(entry: ModelEntry) -> str:
    return f"{entry.version} ({STATE_WORDS.get(entry.state, entry.state)}, sha256 {entry.sha256[:12]})"


def _register_form(admin: Clinician) -> None:
    files = models.registrable_files(res.model_settings.weights_path())
    with st.form("model_register", border=True):
        st.markdown("**Register a checkpoint** — it joins as a candidate and serves nothing until activated. "
                    "Put a checkpoint and its model card (`<name>.md`, naming the file's sha256) in "
                    f"`{models.incoming_folder()}` to offer it here.")
        choice = st.selectbox("Checkpoint", files, format_func=str, key="model_register_file",
                              index=0 if files else None, placeholder="No checkpoint to register")
        if st.form_submit_button("Register", icon=":material/add:", disabled=not files) and choice is not None:
            with st.spinner("Checking the checkpoint and its card…"), res.friendly_errors(operator=True):
                entry = models.register_as(res.get_database(), admin, choice)
            st.session_state["_model_admin_notice"] = f"Registered {entry.version} as a candidate."
            st.rerun()


def _activate_form(admin: Clinician, others: list[ModelEntry]) -> None:
    with st.form("model_activate", border=True):
        st.markdown("**Activate a model** — new predictions in every app process use it within "
                    f"{models.poll_seconds():g} s; predictions made before keep their version. Rolling back is "
                    "activating the earlier model again.")
        choice = st.selectbox("Model", others, format_func=_label, key="model_activate_choice")
        reason = st.text_area("Reason (kept in the audit trail)", key="model_activate_reason", max_chars=500)
        if st.form_submit_button("Activate", icon=":material/published_with_changes:", type="primary"):
            with res.friendly_errors(operator=True):
                entry = models.activate(res.get_database(), admin, choice.id, reason)
            st.session_state["_model_admin_notice"] = (f"{entry.version} is now the active model; every app process "
                                                       f"serves it within {models.poll_seconds():g} s.")
            st.rerun()


def _shadow_form(admin: Clinician, others: list[ModelEntry]) -> None:
    with st.form("model_shadow", border=True):
        st.markdown("**Shadow runs** — a model in shadow scores every new consultation's photos; its scores are "
                    "stored for comparisons, never shown to patients nor used to order the queue.")
        chosen = st.multiselect("Run in shadow", others, default=[e for e in others if e.shadow], format_func=_label,
                                key="model_shadow_choice")
        if st.form_submit_button("Save shadow runs", icon=":material/visibility_off:"):
            wanted = {e.id for e in chosen}
            with res.friendly_errors(operator=True):
                for entry in others:
                    models.set_shadow(res.get_database(), admin, entry.id, entry.id in wanted)
            st.session_state["_model_admin_notice"] = "Shadow runs saved."
            st.rerun()
