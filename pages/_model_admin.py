"""The model page's administrator part (issue 20): the registered models, registering a checkpoint, retraining from the
reviewed consultations, comparing two models on them, activating (and so rolling back) a model with a reason, shadow runs. Widgets only; the rules are in :mod:`clinic.models`."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from clinic import comparison, models, retrain
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
    retrain_section(admin)
    if len(entries) > 1:
        comparison_section(admin, entries)
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


def comparison_section(admin: Clinician, entries: list[ModelEntry]) -> None:
    """Pick two registered models, compare them on the reviewed consultations in the background, show figures."""
    st.subheader("Compare two models on our reviewed consultations", anchor="compare-models")
    with st.form("model_compare", border=True):
        left, right = st.columns(2)
        first = left.selectbox("Model A", entries, format_func=_label, key="model_compare_a", index=0)
        second = right.selectbox("Model B", entries, format_func=_label, key="model_compare_b",
                                 index=1 if len(entries) > 1 else 0)
        demo = st.checkbox("Include demo consultations", value=res.demo_mode(), key="model_compare_demo")
        if st.form_submit_button("Compare", icon=":material/compare_arrows:"):
            if first.id == second.id:
                st.error("Choose two different models to compare.")
            else:
                comparison.JOBS.start(res.get_database(), first, second, actor=admin.actor, include_demo=demo)
                st.session_state["_model_compare_pair"] = (first.id, second.id)
    pair = st.session_state.get("_model_compare_pair")
    job = comparison.JOBS.get(*pair) if pair else None
    if job is not None:
        _comparison_progress(job.a_id, job.b_id)


@st.fragment(run_every=1.0)
def _comparison_progress(a_id: int, b_id: int) -> None:
    job = comparison.JOBS.get(a_id, b_id)
    if job is None:
        return
    if not job.finished.is_set():
        st.progress(job.fraction, text=f"{job.step}: {job.done} of {job.total} photos")
        return
    if job.error is not None:
        st.error(job.error, icon=":material/error:")
    elif job.result is not None:
        _show_comparison(job.result)


def _fmt(value: float | None, ci: list[float] | tuple[float, float] | None = None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _show_comparison(result: comparison.ModelComparison) -> None:
    st.caption(f"{result.cases} reviewed consultations with psoriasis or seborrheic dermatitis "
               f"({result.outside} with another diagnosis left out, {result.unscored} not scored by both); "
               "a consultation's score is its highest P(psoriasis).")
    figures = result.figures
    if figures is None:
        st.info("Fewer than two reviewed consultations can be compared yet.", icon=":material/info:")
        return
    rows = []
    for name, key in (("AUC (95 % CI)", "auc"),):
        rows.append({"Figure": name, **{e.version: _fmt(m["own"][key], m["own"]["auc_ci"])
                                        for e, m in zip((result.a, result.b), figures.models)}})
    for label, which in (("own threshold", "own"), ("other model's threshold", "other")):
        for name, key in (("Sensitivity", "sensitivity"), ("Specificity", "specificity")):
            rows.append({"Figure": f"{name} at {label}", **{
                e.version: f"{_fmt(m[which][key], m[which][key + '_ci'])} (t = {m[which]['threshold']:.2f})"
                for e, m in zip((result.a, result.b), figures.models)}})
    for name, key in (("Brier score", "brier"), ("Expected calibration error", "ece")):
        rows.append({"Figure": name, **{e.version: _fmt(m["own"][key]) for e, m in zip((result.a, result.b),
                                                                                     figures.models)}})
    rows.append({"Figure": "Agreement with dermatologists (kappa)", **{
        e.version: f"{m['agreed']} of {figures.n} · {_fmt(m['kappa_with_dermatologists'])}"
        for e, m in zip((result.a, result.b), figures.models)}})
    st.table(pd.DataFrame(rows), hide_index=True)
    if figures.delong is not None:
        d = figures.delong
        st.markdown(f"**Paired DeLong test**: AUC difference ({result.b.version} − {result.a.version}) "
                    f"{d['difference']:+.3f}, z = {d['z']:.2f}, p = {d['p_value']:.3g}.")
    else:
        st.markdown("**Paired DeLong test**: needs at least two consultations of each diagnosis.")
    st.markdown(f"**The two models agree** on {figures.between['agreed']} of {figures.n} consultations "
                f"(kappa {_fmt(figures.between['kappa'])}).")
    with st.expander("Calibration (reliability bins)"):
        st.table(pd.DataFrame([{"Model": e.version, "Mean predicted": round(p, 3), "Observed": round(o, 3), "Cases": n}
                               for e, m in zip((result.a, result.b), figures.models) for p, o, n in m["reliability"]]),
                 hide_index=True)
    with st.expander("The models' cards side by side"):
        for column, entry in zip(st.columns(2), (result.a, result.b)):
            column.markdown(f"**{entry.version}**")
            column.json(entry.figures, expanded=1)
            column.markdown(entry.card)


def retrain_section(admin: Clinician) -> None:
    """Retrain from the reviewed consultations in the background; the result joins as a candidate."""
    with st.form("model_retrain", border=True):
        st.markdown("**Retrain from our reviewed consultations** — consented, non-demo consultations reviewed as "
                    "psoriasis or seborrheic dermatitis train a new model (the other diagnoses measure its "
                    "out-of-scope check); it is registered as a candidate and never activated by itself.")
        epochs = st.number_input("Epochs", min_value=1, max_value=200, value=30, step=1, key="model_retrain_epochs")
        if st.form_submit_button("Retrain", icon=":material/model_training:"):
            with res.friendly_errors(operator=True):
                retrain.JOBS.start(res.get_database(), admin, epochs=int(epochs))
    if retrain.JOBS.current is not None:
        _retrain_progress()


@st.fragment(run_every=2.0)
def _retrain_progress() -> None:
    job = retrain.JOBS.current
    if job is None:
        return
    if not job.finished.is_set():
        st.progress(job.fraction, text=f"Retraining {job.version}: {job.step}, epoch {job.epoch} of {job.epochs}")
    elif job.error is not None:
        st.error(f"Retraining {job.version} failed: {job.error}", icon=":material/error:")
    elif job.result is not None:
        st.success(f"Retrained and registered {job.result.version} as a candidate: compare it, then activate it "
                   "if it is better.", icon=":material/check_circle:")
