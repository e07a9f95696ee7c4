"""``python -m scalp_model evaluate DATA_DIR``: a checkpoint's figures on a labelled folder, through the app's Predictor.

With ``--split test`` (the default) and a checkpoint that records its split, exactly the recorded test
files are evaluated; ``--split all`` evaluates every image in DATA_DIR. AUC has a DeLong 95% CI,
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

from . import settings
from .checkpoint import POSITIVE_CLASS
from .data import Sample, load_image, scan_dataset, select
from .metrics import binary_report, reliability
from .predictor import Predictor

JSON_KEYS = ("n", "auc", "auc_ci", "sensitivity", "specificity", "accuracy", "kappa", "brier", "ece", "threshold",
             "by_source")


def predict_samples(predictor: Predictor, data_dir: Path | str, samples: Sequence[Sample],
                    batch_size: int = 16) -> np.ndarray:
    """P(psoriasis) for each sample, decoded and predicted exactly as the app does."""
    probs: list[float] = []
    for i in range(0, len(samples), batch_size):
        images = [load_image(data_dir, s.file) for s in samples[i:i + batch_size]]
        probs += [p.p_psoriasis for p in predictor.predict_batch(images)]
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


def evaluate_checkpoint(predictor: Predictor, data_dir: Path | str, split: str = "test") -> tuple[dict, np.ndarray, np.ndarray]:
    """(report, labels, probabilities) of a predictor on a data folder."""
    meta = predictor.meta
    samples = scan_dataset(data_dir, meta.class_names)
    recorded = (meta.training or {}).get("split") or {}
    if split != "all":
        if split not in recorded:
            raise ValueError(f"--split {split}: the checkpoint records no {split!r} split; use --split all")
        wanted = recorded[split]
        samples = select(samples, wanted)
        missing = set(wanted) - {s.file for s in samples}
        if missing:
            raise FileNotFoundError(f"{len(missing)} recorded {split} files are missing from {data_dir}, "
                                    f"e.g. {sorted(missing)[0]}")
    positive = meta.class_names.index(POSITIVE_CLASS)
    labels = np.array([1 if s.label == positive else 0 for s in samples])
    probs = predict_samples(predictor, data_dir, samples)
    return report(labels, probs, [s.source for s in samples], meta.threshold), labels, probs


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
    parser.add_argument("--split", choices=("test", "val", "train", "all"), default="test",
                        help="recorded split to evaluate, or all images (default test)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--plots", default=None, metavar="DIR", help="write roc.png and reliability.png here")
    parser.add_argument("--device", default=None, help="auto, cpu, cuda or mps (default auto)")


def main(args: argparse.Namespace) -> int:
    predictor = Predictor.from_path(args.weights or settings.weights_path(), device=args.device)
    try:
        rep, labels, probs = evaluate_checkpoint(predictor, args.data_dir, args.split)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.plots:
        save_plots(labels, probs, args.plots, title=f"({args.split}, n={len(labels)})")
    if args.json:
        out = {k: rep[k] for k in JSON_KEYS}
        out.update({k: rep[k] for k in ("sensitivity_ci", "specificity_ci", "confusion")})
        out["model"] = {"version": predictor.version, "sha256": predictor.sha256}
        print(json.dumps(out, indent=1))
    else:
        print(f"model {predictor.version} ({predictor.sha256[:12]}), split {args.split}")
        print(format_report(rep))
    return 0
