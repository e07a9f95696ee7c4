"""``python -m scalp_model evaluate DATA_DIR``: a checkpoint's figures on a labelled folder, through the app's Predictor.

By default, when DATA_DIR holds the test files the checkpoint recorded, those are evaluated; a folder that
holds none of them (another data set) is evaluated whole, and the output says so. ``--split test|val|train``
asks for exactly a recorded split, ``--split all`` for every image in DATA_DIR. Hidden and system files are
left out and unreadable files are named and skipped; the output counts both. AUC has a DeLong 95% CI,
sensitivity and specificity (psoriasis is the positive class) Wilson 95% CIs at the checkpoint's
threshold. ``by_source`` breaks the figures down by the ``source`` column of ``groups.csv``.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import settings
from .card_sections import format_side_by_side, side_by_side
from ..serving.checkpoint import POSITIVE_CLASS
from .data import Sample, SkippedFiles, UnreadableImageError, load_image, scan_dataset, select
from ..metrics.classification import binary_report, reliability
from ..serving.predictor import Predictor

JSON_KEYS = ("n", "auc", "auc_ci", "sensitivity", "specificity", "accuracy", "kappa", "brier", "ece", "threshold",
             "by_source")


def predict_samples(predictor: Predictor, data_dir: Path | str, samples: Sequence[Sample],
                    batch_size: int = 16, skipped: SkippedFiles | None = None) -> np.ndarray:
    """P(psoriasis) for each sample, decoded and predicted exactly as the app does.

    With ``skipped``, a file that cannot be decoded is recorded there and gets NaN instead of stopping the run.
    """
    probs: list[float] = []
    for i in range(0, len(samples), batch_size):
        images, where = [], []
        for j, s in enumerate(samples[i:i + batch_size]):
            try:
                images.append(load_image(data_dir, s.file))
                where.append(j)
            except UnreadableImageError as exc:
                if skipped is None:
                    raise
                skipped.add(s.file, exc.reason)
        batch = [float("nan")] * len(samples[i:i + batch_size])
        for j, p in zip(where, predictor.predict_batch(images) if images else []):
            batch[j] = p.p_psoriasis
        probs += batch
    return np.asarray(probs, dtype=float)


def report(labels: np.ndarray, probs: np.ndarray, sources: Sequence[str], threshold: float) -> dict[str, Any]:
    """Overall figures plus one block per source (and the DermNet-thumbnail-only comparison)."""
    out = binary_report(labels, probs, threshold)
    by_source: dict[str, Any] = {}
    groups: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(sources):
        groups[s].append(i)
    if len(groups) > 1 or (groups and "unknown" not in groups):
        for name, idx in sorted(groups.items()):
            by_source[name] = binary_report(labels[idx], probs[idx], threshold)
    out["by_source"] = by_source
    return out


def choose_samples(samples: list[Sample], recorded: dict, split: str | None, data_dir: Path | str
                   ) -> tuple[list[Sample], str, str | None]:
    """(samples to evaluate, split evaluated, a note for the user) for ``--split`` (None: the default)."""
    if split is None:
        wanted = set(recorded.get("test") or ())
        present = select(samples, wanted)
        if not wanted:
            return samples, "all", "the checkpoint records no test split: evaluating every image of the folder"
        if not present:
            return samples, "all", (f"{data_dir} holds none of the checkpoint's {len(wanted)} recorded test files "
                                    "(not its training folder): evaluating every image of it")
        missing = len(wanted) - len(present)
        return present, "test", (f"{missing} of the {len(wanted)} recorded test files are not in {data_dir}: "
                                 f"evaluating the {len(present)} that are" if missing else None)
    if split == "all":
        return samples, "all", None
    if split not in recorded:
        raise ValueError(f"--split {split}: the checkpoint records no {split!r} split; use --split all")
    wanted = recorded[split]
    chosen = select(samples, wanted)
    missing = set(wanted) - {s.file for s in chosen}
    if missing:
        raise FileNotFoundError(f"{len(missing)} recorded {split} files are missing from {data_dir}, "
                                f"e.g. {sorted(missing)[0]}; leave out --split to evaluate what the folder holds")
    return chosen, split, None


def evaluate_checkpoint(predictor: Predictor, data_dir: Path | str, split: str | None = None,
                        skipped: SkippedFiles | None = None) -> tuple[dict, np.ndarray, np.ndarray]:
    """(report, labels, probabilities) of a predictor on a data folder.

    The report also says which split was evaluated (``split``), why when it is not the one asked for
    (``note``), and which files were skipped (``skipped``: hidden, system or unreadable files).
    """
    meta = predictor.meta
    skipped = SkippedFiles() if skipped is None else skipped
    samples = scan_dataset(data_dir, meta.class_names, skipped)
    recorded = (meta.training or {}).get("split") or {}
    samples, evaluated, note = choose_samples(samples, recorded, split, data_dir)
    positive = meta.class_names.index(POSITIVE_CLASS)
    probs = predict_samples(predictor, data_dir, samples, skipped=skipped)
    kept = ~np.isnan(probs)
    samples = [s for s, k in zip(samples, kept) if k]
    probs = probs[kept]
    if not samples:
        raise FileNotFoundError(f"no readable image left to evaluate in {data_dir}\n{skipped.summary()}")
    labels = np.array([1 if s.label == positive else 0 for s in samples])
    rep = report(labels, probs, [s.source for s in samples], meta.threshold)
    rep.update(split=evaluated, note=note, skipped=skipped.to_list())
    return rep, labels, probs


def save_plots(labels: np.ndarray, probs: np.ndarray, out_dir: Path | str, title: str = "") -> list[Path]:
    """ROC curve and reliability diagram as PNGs (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    fig, ax = plt.subplots(figsize=(4, 4), dpi=120)
    if 0 < labels.sum() < len(labels):
        fpr, tpr, _ = roc_curve(labels, probs)
        ax.plot(fpr, tpr, lw=2, label="ROC")
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", title=f"ROC {title}".strip())
    fig.tight_layout()
    paths.append(out_dir / "roc.png")
    fig.savefig(paths[-1])
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(4, 4), dpi=120)
    pts = reliability(labels, probs)
    if pts:
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label="observed")
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.set(xlabel="predicted P(psoriasis)", ylabel="observed frequency", title=f"Reliability {title}".strip())
    fig.tight_layout()
    paths.append(out_dir / "reliability.png")
    fig.savefig(paths[-1])
    plt.close(fig)
    return paths


def format_report(rep: dict) -> str:
    def ci(v: Any) -> str:
        return f" [{v[0]:.3f}, {v[1]:.3f}]" if v else ""

    def num(v: Any) -> str:
        return "n/a" if v is None else f"{v:.3f}"

    lines = [f"n={rep['n']} (psoriasis {rep['n_positive']}, seborrheic dermatitis {rep['n_negative']})",
             f"AUC {num(rep['auc'])}{ci(rep['auc_ci'])}",
             f"threshold {rep['threshold']:.4f}: sensitivity {num(rep['sensitivity'])}{ci(rep['sensitivity_ci'])}, "
             f"specificity {num(rep['specificity'])}{ci(rep['specificity_ci'])}",
             f"accuracy {num(rep['accuracy'])}, kappa {num(rep['kappa'])}, Brier {num(rep['brier'])}, ECE {num(rep['ece'])}"]
    for name, sub in rep.get("by_source", {}).items():
        lines.append(f"  {name}: n={sub['n']} ({sub['n_positive']}/{sub['n_negative']}), AUC {num(sub['auc'])}, "
                     f"sens {num(sub['sensitivity'])}, spec {num(sub['specificity'])}")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data_dir", help="folder with psoriasis/ and seborrheic_dermatitis/ (and optional groups.csv)")
    parser.add_argument("--weights", default=None, help="checkpoint (default: SCALPSCOPE_WEIGHTS or the shipped model)")
    parser.add_argument("--split", choices=("test", "val", "train", "all"), default=None,
                        help="recorded split to evaluate, or all images (default: the recorded test files when the "
                             "folder holds them, otherwise all images, as the output says)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--plots", default=None, metavar="DIR", help="write roc.png and reliability.png here")
    parser.add_argument("--device", default=None, help="auto, cpu, cuda or mps (default auto)")


def main(args: argparse.Namespace) -> int:
    predictor = Predictor.from_path(args.weights or settings.weights_path(), device=args.device)
    try:
        skipped = SkippedFiles()
        rep, labels, probs = evaluate_checkpoint(predictor, args.data_dir, args.split, skipped)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.plots:
        save_plots(labels, probs, args.plots, title=f"({rep['split']}, n={len(labels)})")
    if rep["note"]:
        print(f"note: {rep['note']}", file=sys.stderr)
    if skipped:
        print(skipped.summary(), file=sys.stderr)
    if args.json:
        out = {k: rep[k] for k in JSON_KEYS}
        out.update({k: rep[k] for k in ("sensitivity_ci", "specificity_ci", "confusion", "split", "note", "skipped")})
        out["model"] = {"version": predictor.version, "sha256": predictor.sha256}
        out["recorded"] = side_by_side(predictor.meta)
        print(json.dumps(out, indent=1))
    else:
        print(f"model {predictor.version} ({predictor.sha256[:12]}), split {rep['split']}"
              + (f" ({rep['note']})" if rep["note"] else ""))
        print(format_report(rep))
        if skipped:
            print(f"{len(skipped)} file(s) skipped, listed on stderr")
        recorded = format_side_by_side(side_by_side(predictor.meta))
        if recorded:
            print(recorded)
    return 0
