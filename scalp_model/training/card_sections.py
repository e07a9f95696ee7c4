"""Sections of the model card: figure tables, cross-validation, distillation and int8, and the recorded figures
that ``evaluate`` prints beside a fresh evaluation. Plain values in, Markdown lines out; no file access."""
from __future__ import annotations

from typing import Any

from ..serving.checkpoint import ModelMeta


def fmt_value(v: Any, digits: int = 3) -> str:
    """A figure for a card table: ``n/a`` for None, floats to ``digits`` decimals, anything else as ``str``."""
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def fmt_ci(v: Any) -> str:
    """A ``[low, high]`` interval to 3 decimals; empty for None."""
    return f"[{v[0]:.3f}, {v[1]:.3f}]" if v else ""


def metrics_table(rep: dict[str, Any], title: str) -> list[str]:
    lines = [f"**{title}** — n = {rep['n']} (psoriasis {rep['n_positive']}, seborrheic dermatitis {rep['n_negative']})", "",
             "| | value | 95% CI |", "|---|---|---|",
             f"| AUC (DeLong CI) | {fmt_value(rep['auc'])} | {fmt_ci(rep['auc_ci'])} |",
             f"| sensitivity (psoriasis, Wilson CI) | {fmt_value(rep['sensitivity'])} | {fmt_ci(rep.get('sensitivity_ci'))} |",
             f"| specificity (Wilson CI) | {fmt_value(rep['specificity'])} | {fmt_ci(rep.get('specificity_ci'))} |",
             f"| accuracy | {fmt_value(rep['accuracy'])} | |",
             f"| Cohen's kappa | {fmt_value(rep['kappa'])} | |",
             f"| Brier | {fmt_value(rep['brier'])} | |",
             f"| ECE (10 bins) | {fmt_value(rep['ece'])} | |", ""]
    if rep.get("by_source"):
        lines += ["| source | n (pso/SD) | AUC | sensitivity | specificity |", "|---|---|---|---|---|"]
        for name, sub in rep["by_source"].items():
            lines.append(f"| {name} | {sub['n']} ({sub['n_positive']}/{sub['n_negative']}) | {fmt_value(sub['auc'])} "
                         f"| {fmt_value(sub['sensitivity'])} | {fmt_value(sub['specificity'])} |")
        lines.append("")
    return lines


def cross_validation_section(cv: dict[str, Any]) -> list[str]:
    """The recipe's group k-fold CV table: this model's trunk beside the reference rows (teachers, earlier models)."""
    lines = ["## Cross-validation (the figures to judge this model by)", "",
             f"The 15-photo test split is too small to choose or claim anything. Every row below is the same recipe "
             f"(linear probe on frozen pooled features, C = {cv.get('probe_c')}, Platt scaling and threshold for sensitivity ≥ "
             f"{cv.get('target_sensitivity')} fitted inside each training fold) under stratified group "
             f"{cv.get('folds')}-fold cross-validation on all labelled scalp photos, repeated with seeds "
             f"{cv.get('seeds')}; means over seeds, 95 % DeLong CI of the first seed. Reproduce a row with "
             "`python -m scalp_model crossval ../shared/data/scalp [--weights FILE | --init PTH | --teacher NAME]`.", "",
             "| features | AUC [CI, seed 0] | sensitivity | specificity | ECE | `dermnet_thumb` vs `dermnet_thumb` AUC "
             "| AUC on photos outside the training split |",
             "|---|---|---|---|---|---|---|"]

    def row(name: str, mean: dict, first: dict) -> str:
        o, s, u = mean.get("overall", {}), mean.get("same_source", {}), mean.get("unseen", {})
        n_unseen = first.get("unseen", {}).get("n")
        return (f"| {name} | {fmt_value(o.get('auc'))} {fmt_ci(first.get('overall', {}).get('auc_ci'))} | "
                f"{fmt_value(o.get('sensitivity'))} | {fmt_value(o.get('specificity'))} | {fmt_value(o.get('ece'))} | "
                f"{fmt_value(s.get('auc'))} {fmt_ci(first.get('same_source', {}).get('auc_ci'))} | "
                f"{fmt_value(u.get('auc'))} {fmt_ci(first.get('unseen', {}).get('auc_ci'))}"
                + (f" (n={n_unseen})" if n_unseen else "") + " |")

    lines.append(row(f"**this model** ({cv.get('features')})", cv["mean"], cv["per_seed"][0]))
    for ref in cv.get("references", []):
        ref_c = ref.get("probe_c")
        own_c = f", C = {ref_c}" if ref_c not in (None, cv.get("probe_c")) else ""
        lines.append(row(f"{ref['name']} ({ref.get('features')}{own_c})", ref["mean"], ref["first_seed"]))
    note = cv.get("note") or (
        "A distilled GoogLeNet matched a teacher probe fitted with the training split's labels, so its out-of-fold "
        "figures on training-split photos can be optimistic; the last column, out-of-fold scores of the photos "
        "outside that split only, is free of that (and wide: few photos). The teachers never saw a scalp label.")
    lines += ["", note, ""]
    if cv.get("probe_c_candidates"):
        lines += [f"C = {cv.get('probe_c')} was chosen among {', '.join(map(str, cv['probe_c_candidates']))} by this "
                  "same cross-validation (`crossval --probe-c ...`), so this model's row is slightly optimistic for "
                  "that choice.", ""]
    return lines


def distillation_section(d: dict[str, Any]) -> list[str]:
    """Distillation fidelity on held-back views, and the student's own probe AUC over the run."""
    lines = ["## Distillation (how far the student got)", "",
             f"{d['step']} steps of 64 views ({d.get('epochs')} passes over the label-free corpus), {d['hours']} h of "
             "2-core CPU training. Measured on views of pictures held out of the distillation: feature R² of the "
             "student's projected features against the teacher's, correlation (r) of its scalp logit with the teacher "
             "probe's, and the student's own linear-probe CV AUC at 224 px (same recipe as above, mirror-averaged).", "",
             "| step | hours | feature R² | scalp-logit r | student probe CV AUC (224 px) |", "|---|---|---|---|---|"]
    for e in d.get("curve", []):
        probe = (e.get("probe_224") or {}).get("auc")
        lines.append(f"| {e['step']} | {e['hours']} | {fmt_value(e.get('feature_r2'))} | {fmt_value(e.get('task_r'))} | {fmt_value(probe)} |")
    return lines + [""]


def quantization_section(q: dict[str, Any]) -> list[str]:
    """The int8 calibration, what it changes on held-out photos and whether the app uses it."""
    from ..serving.int8 import AUC_TOLERANCE, MAX_PROBABILITY_CHANGE, accepted

    if not q:
        return []
    ok, why = accepted(q)
    lines = ["## Int8 inference (CPU)", "", f"{q.get('method')}. Calibrated on {q['calibration']['images']} "
             f"{q['calibration']['split']}-split images (ranges stored in the checkpoint, no image); onnxruntime "
             f"{q.get('onnxruntime')}. Used by default on CPU only while the held-out AUC change is within "
             f"±{AUC_TOLERANCE}, no held-out decision flips and no probability moves by more than "
             f"{MAX_PROBABILITY_CHANGE}; `SCALPSCOPE_PRECISION=fp32` turns it off. This calibration: "
             + ("**used**." if ok else f"**not used**, {why}; the app serves fp32.") + "", "",
             "| images | n | AUC fp32 → int8 (change) | largest P change | decisions flipped |", "|---|---|---|---|---|"]
    for name in ("heldout", "test"):
        r = q.get(name) or {}
        if r:
            lines.append(f"| {r.get('split', name)} | {r['n']} | {fmt_value(r.get('auc_fp32'), 4)} → {fmt_value(r.get('auc_int8'), 4)} "
                         f"({fmt_value(r.get('auc_change'), 4)}) | {fmt_value(r.get('max_probability_change'), 4)} | {r.get('decision_flips')} |")
    h = q.get("heldout") or {}
    if "map_correlation_min" in h:
        lines += ["", f"Attention maps int8 vs fp32: lowest Pearson correlation {fmt_value(h['map_correlation_min'], 4)} "
                  f"over the held-out images; out-of-scope gate decisions changed: {h.get('out_of_scope_flips', 'n/a')}."]
    return lines + [""]


def side_by_side(meta: ModelMeta) -> dict[str, Any]:
    """The recorded figures to read beside a fresh evaluation: the recipe's cross-validated means for this model
    and its reference rows (teacher probes, earlier models), the recorded test split, and distillation fidelity."""
    m = meta.metrics
    cv = m.get("cross_validation") or {}
    rows = []
    if "mean" in cv:
        rows.append({"name": "this model", "features": cv.get("features"), **cv["mean"]})
        rows += [{"name": r["name"], "features": r.get("features"), **r["mean"]} for r in cv.get("references", [])]
    d = m.get("distillation") or {}
    last = d.get("last_eval") or {}
    return {"cross_validation": rows,
            "test": {k: (m.get("test") or {}).get(k) for k in ("n", "auc", "auc_ci", "sensitivity", "specificity", "ece")},
            "distillation": {"step": d.get("step"), "hours": d.get("hours"), "feature_r2": last.get("feature_r2"),
                             "task_r": last.get("task_r")} if d else None}


def format_side_by_side(rec: dict[str, Any]) -> str:
    """Text lines for :func:`side_by_side` (empty when the card records no cross-validation)."""
    if not rec["cross_validation"]:
        return ""
    lines = ["recorded in the model card (group 5-fold CV x 3 seeds; reproduce with 'python -m scalp_model crossval'):"]
    for r in rec["cross_validation"]:
        o, s = r.get("overall", {}), r.get("same_source", {})
        lines.append(f"  {r['name']}: AUC {fmt_value(o.get('auc'))}, sensitivity {fmt_value(o.get('sensitivity'))}, specificity "
                     f"{fmt_value(o.get('specificity'))}, ECE {fmt_value(o.get('ece'))}; dermnet_thumb vs dermnet_thumb AUC "
                     f"{fmt_value(s.get('auc'))}; outside the training split AUC {fmt_value(r.get('unseen', {}).get('auc'))}")
    d = rec.get("distillation")
    if d:
        lines.append(f"  distillation: step {d['step']} ({d['hours']} h), held-back feature R² {fmt_value(d['feature_r2'])}, "
                     f"scalp-logit r {fmt_value(d['task_r'])}")
    return "\n".join(lines)
