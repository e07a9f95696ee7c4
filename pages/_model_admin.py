"""The model page's administrator part (issue 20): the registered models, registering a checkpoint, retraining from the
reviewed consultations, comparing two models on them, activating (and so rolling back) a model with a reason, shadow runs. Widgets only; the rules are in :mod:`clinic.models`."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from clinic import comparison, models, retrain
from db.model_registry import ModelEntry
from db.users import Clinician
from i18n import DEFAULT, N_, _, current_language
from pages import _messages as messages
from pages import _resources as res
from security.text import plain

# Stored states and the background jobs' steps (clinic.comparison, clinic.retrain) as the administrator reads them.
STATE_WORDS = {"active": N_("active"), "candidate": N_("candidate"), "retired": N_("retired")}
STEP_WORDS = {"starting": N_("starting"), "computing the figures": N_("computing the figures"),
              "exporting the reviewed consultations": N_("exporting the reviewed consultations"),
              "training": N_("training"), "registering the new model": N_("registering the new model")}
SCORING = "scoring with "  # clinic.comparison's step "scoring with <version>"


def _state(state: str) -> str:
    return _(STATE_WORDS[state]) if state in STATE_WORDS else state


def _step(step: str) -> str:
    if step.startswith(SCORING):
        return _("scoring with {version}").format(version=step.removeprefix(SCORING))
    return _(STEP_WORDS[step]) if step in STEP_WORDS else step


def _failure(job: comparison.ComparisonJob | retrain.RetrainJob) -> str:
    """A background job's error in the reader's language (the English message when it has no translation),
    escaped for Markdown."""
    return plain(messages.shown(job.failure) if job.failure is not None else job.error)


def registry_section(admin: Clinician) -> None:
    """The registry for ``admin``: table, register, activate / roll back, shadow."""
    st.header(_("Registered models"), anchor="registered-models")
    database = res.get_database()
    with res.friendly_errors(operator=True):
        entries = models.list_models(database)
    notice = st.session_state.pop("_model_admin_notice", None)
    if notice:
        st.success(notice, icon=":material/check_circle:")
    if entries:
        st.dataframe(pd.DataFrame([_row(e) for e in entries]), hide_index=True, width="stretch", key="model_registry")
    else:
        st.info(_("No model is registered yet: the app serves the checkpoint named by `SCALPSCOPE_WEIGHTS`. Register "
                  "it below (or another checkpoint), then activate one."), icon=":material/info:")
    _register_form(admin)
    retrain_section(admin)
    if len(entries) > 1:
        comparison_section(admin, entries)
    others = [e for e in entries if not e.is_active]
    if others:
        _activate_form(admin, others)
        _shadow_form(admin, others)


def _row(entry: ModelEntry) -> dict[str, object]:
    return {_("Version"): entry.version, _("State"): _state(entry.state),
            _("Shadow"): _("yes") if entry.shadow else "", _("Architecture"): entry.architecture,
            _("Threshold"): round(entry.threshold, 4), "sha256": entry.sha256[:12],
            _("Registered"): _("{time} by {name}").format(time=f"{entry.registered_at:%Y-%m-%d %H:%M}",
                                                          name=entry.registered_by),
            _("Activated"): "" if entry.activated_at is None else f"{entry.activated_at:%Y-%m-%d %H:%M}"}


def _label(entry: ModelEntry) -> str:
    return _("{version} ({state}, sha256 {sha256})").format(version=entry.version, state=_state(entry.state),
                                                            sha256=entry.sha256[:12])


def _labels(entries: list[ModelEntry]):  # noqa: ANN202 - a widget's format_func
    """A format_func for a select box of ``entries``, each label worded now, in this run's language (Streamlit may
    format options outside the script run; a ModelEntry holds a dict, so it cannot key a dict itself)."""
    words = {entry.id: _label(entry) for entry in entries}
    return lambda entry: words.get(entry.id, entry.version)


def _register_form(admin: Clinician) -> None:
    files = models.registrable_files(res.model_settings.weights_path())
    with st.form("model_register", border=True):
        st.markdown(_("**Register a checkpoint** — it joins as a candidate and serves nothing until activated. "
                      "Put a checkpoint and its model card (`<name>.md`, naming the file's sha256) in `{folder}` to "
                      "offer it here.").format(folder=models.incoming_folder()))
        choice = st.selectbox(_("Checkpoint"), files, format_func=str, key="model_register_file",
                              index=0 if files else None, placeholder=_("No checkpoint to register"))
        if st.form_submit_button(_("Register"), icon=":material/add:", disabled=not files) and choice is not None:
            with st.spinner(_("Checking the checkpoint and its card…")), res.friendly_errors(operator=True):
                entry = models.register_as(res.get_database(), admin, choice)
            st.session_state["_model_admin_notice"] = _("Registered {version} as a candidate.").format(
                version=entry.version)
            st.rerun()


def _activate_form(admin: Clinician, others: list[ModelEntry]) -> None:
    with st.form("model_activate", border=True):
        st.markdown(_("**Activate a model** — new predictions in every app process use it within {seconds} s; "
                      "predictions made before keep their version. Rolling back is activating the earlier model "
                      "again.").format(seconds=f"{models.poll_seconds():g}"))
        choice = st.selectbox(_("Model"), others, format_func=_labels(others), key="model_activate_choice")
        reason = st.text_area(_("Reason (kept in the audit trail)"), key="model_activate_reason", max_chars=500)
        if st.form_submit_button(_("Activate"), icon=":material/published_with_changes:", type="primary"):
            with res.friendly_errors(operator=True):
                entry = models.activate(res.get_database(), admin, choice.id, reason)
            st.session_state["_model_admin_notice"] = _("{version} is now the active model; every app process serves "
                                                        "it within {seconds} s.").format(
                version=entry.version, seconds=f"{models.poll_seconds():g}")
            st.rerun()


def _shadow_form(admin: Clinician, others: list[ModelEntry]) -> None:
    with st.form("model_shadow", border=True):
        st.markdown(_("**Shadow runs** — a model in shadow scores every new consultation's photos; its scores are "
                      "stored for comparisons, never shown to patients nor used to order the queue."))
        chosen = st.multiselect(_("Run in shadow"), others, default=[e for e in others if e.shadow],
                                format_func=_labels(others), key="model_shadow_choice")
        if st.form_submit_button(_("Save shadow runs"), icon=":material/visibility_off:"):
            wanted = {e.id for e in chosen}
            with res.friendly_errors(operator=True):
                for entry in others:
                    models.set_shadow(res.get_database(), admin, entry.id, entry.id in wanted)
            st.session_state["_model_admin_notice"] = _("Shadow runs saved.")
            st.rerun()


def comparison_section(admin: Clinician, entries: list[ModelEntry]) -> None:
    """Pick two registered models, compare them on the reviewed consultations in the background, show figures."""
    st.subheader(_("Compare two models on our reviewed consultations"), anchor="compare-models")
    with st.form("model_compare", border=True):
        left, right = st.columns(2)
        first = left.selectbox(_("Model A"), entries, format_func=_labels(entries), key="model_compare_a", index=0)
        second = right.selectbox(_("Model B"), entries, format_func=_labels(entries), key="model_compare_b",
                                 index=1 if len(entries) > 1 else 0)
        demo = st.checkbox(_("Include demo consultations"), value=res.demo_mode(), key="model_compare_demo")
        if st.form_submit_button(_("Compare"), icon=":material/compare_arrows:"):
            if first.id == second.id:
                st.error(_("Choose two different models to compare."))
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
        st.progress(job.fraction, text=_("{step}: {done} of {total} photos").format(
            step=_step(job.step), done=job.done, total=job.total))
        return
    if job.error is not None:
        st.error(_failure(job), icon=":material/error:")
    elif job.result is not None:
        _show_comparison(job.result)


def _fmt(value: float | None, ci: list[float] | tuple[float, float] | None = None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _show_comparison(result: comparison.ModelComparison) -> None:
    st.caption(_("{cases} reviewed consultations with psoriasis or seborrheic dermatitis ({outside} with another "
                 "diagnosis left out, {unscored} not scored by both); a consultation's score is its highest "
                 "P(psoriasis).").format(cases=result.cases, outside=result.outside, unscored=result.unscored))
    figures = result.figures
    if figures is None:
        st.info(_("Fewer than two reviewed consultations can be compared yet."), icon=":material/info:")
        return
    pairs = list(zip((result.a, result.b), figures.models))
    figure = _("Figure")
    rows = [{figure: _("AUC (95 % CI)"), **{e.version: _fmt(m["own"]["auc"], m["own"]["auc_ci"]) for e, m in pairs}}]
    for name, which, key in ((N_("Sensitivity at own threshold"), "own", "sensitivity"),
                             (N_("Specificity at own threshold"), "own", "specificity"),
                             (N_("Sensitivity at other model's threshold"), "other", "sensitivity"),
                             (N_("Specificity at other model's threshold"), "other", "specificity")):
        rows.append({figure: _(name), **{
            e.version: f"{_fmt(m[which][key], m[which][key + '_ci'])} (t = {m[which]['threshold']:.2f})"
            for e, m in pairs}})
    for name, key in ((N_("Brier score"), "brier"), (N_("Expected calibration error"), "ece")):
        rows.append({figure: _(name), **{e.version: _fmt(m["own"][key]) for e, m in pairs}})
    rows.append({figure: _("Agreement with dermatologists (kappa)"), **{
        e.version: _("{agreed} of {n} · {kappa}").format(agreed=m["agreed"], n=figures.n,
                                                         kappa=_fmt(m["kappa_with_dermatologists"]))
        for e, m in pairs}})
    st.table(pd.DataFrame(rows), hide_index=True)
    if figures.delong is not None:
        d = figures.delong
        st.markdown(_("**Paired DeLong test**: AUC difference ({b} − {a}) {difference}, z = {z}, p = {p}.").format(
            b=result.b.version, a=result.a.version, difference=f"{d['difference']:+.3f}", z=f"{d['z']:.2f}",
            p=f"{d['p_value']:.3g}"))
    else:
        st.markdown(_("**Paired DeLong test**: needs at least two consultations of each diagnosis."))
    st.markdown(_("**The two models agree** on {agreed} of {n} consultations (kappa {kappa}).").format(
        agreed=figures.between["agreed"], n=figures.n, kappa=_fmt(figures.between["kappa"])))
    with st.expander(_("Calibration (reliability bins)")):
        st.table(pd.DataFrame([{_("Model"): e.version, _("Mean predicted"): round(p, 3), _("Observed"): round(o, 3),
                                _("Cases"): n} for e, m in pairs for p, o, n in m["reliability"]]),
                 hide_index=True)
    with st.expander(_("The models' cards side by side")):
        if current_language() != DEFAULT:  # the cards are the checkpoints' own documents, written in English
            st.caption(_("Each card is shown as it was written with its checkpoint, in English: it is not "
                         "translated."))
        for column, entry in zip(st.columns(2), (result.a, result.b)):
            column.markdown(f"**{entry.version}**")
            column.json(entry.figures, expanded=1)
            column.markdown(entry.card)


def retrain_section(admin: Clinician) -> None:
    """Retrain from the reviewed consultations in the background; the result joins as a candidate."""
    with st.form("model_retrain", border=True):
        st.markdown(_("**Retrain from our reviewed consultations** — consented, non-demo consultations reviewed as "
                      "psoriasis or seborrheic dermatitis train a new model (the other diagnoses measure its "
                      "out-of-scope check); it is registered as a candidate and never activated by itself."))
        epochs = st.number_input(_("Epochs"), min_value=1, max_value=200, value=30, step=1, key="model_retrain_epochs")
        if st.form_submit_button(_("Retrain"), icon=":material/model_training:"):
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
        st.progress(job.fraction, text=_("Retraining {version}: {step}, epoch {epoch} of {epochs}").format(
            version=job.version, step=_step(job.step), epoch=job.epoch, epochs=job.epochs))
    elif job.error is not None:
        st.error(_("Retraining {version} failed: {error}").format(version=job.version, error=_failure(job)),
                 icon=":material/error:")
    elif job.result is not None:
        st.success(_("Retrained and registered {version} as a candidate: compare it, then activate it if it is "
                     "better.").format(version=job.result.version), icon=":material/check_circle:")
