"""The linear probe's cross-validation duties in ``train``: calibration (Platt scaling on group k-fold
out-of-fold scores of the training split, or temperature scaling on validation), and the recipe's
cross-validation recorded in the card with its reference rows. Used by :mod:`.posthoc`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..metrics.classification import fit_temperature, threshold_for_sensitivity
from ..serving.architectures import get_architecture
from ..serving.checkpoint import softmax_positive
from ..serving.network import ScalpNet
from .crossval import Calibration
from .recipe import TrainingError

CV_CALIBRATION_SOURCE = "group 5-fold out-of-fold scores of the training split"


def calibrates_by_cv(args) -> bool:
    """Whether ``train`` was asked for ``--calibrate cv`` (Platt scaling on training-split CV, no validation
    choice) rather than the default temperature scaling on the validation split."""
    return getattr(args, "calibrate", "validation") == "cv"


def calibrate(args, model: ScalpNet, positive: int, train_pooled: np.ndarray, train_samples,
              val_logits: np.ndarray, val_labels: np.ndarray) -> tuple[float, float, dict[str, Any]]:
    """Temperature, threshold and the card's record of how they were fitted: Platt scaling on training-split CV
    (``--calibrate cv``; its shift goes into the head's bias) or temperature scaling on validation."""
    if calibrates_by_cv(args):
        calibration = cv_calibration(train_pooled, train_samples, positive, args)
        shift_positive_logit(model, positive, calibration.shift)
        return calibration.temperature, calibration.threshold, {
            "method": "platt", "fitted_on": CV_CALIBRATION_SOURCE,
            "temperature": round(calibration.temperature, 6), "shift": round(calibration.shift, 6)}
    temperature = fit_temperature(val_logits, val_labels)
    val_probs = softmax_positive(val_logits.astype(np.float64), positive, temperature)
    threshold = threshold_for_sensitivity((val_labels == positive).astype(int), val_probs, args.target_sensitivity)
    return temperature, threshold, {"method": "temperature", "fitted_on": "validation split",
                                    "temperature": round(temperature, 6)}


def cv_calibration(train_pooled: np.ndarray, samples, positive: int, args) -> Calibration:
    """Platt scaling and threshold from group k-fold out-of-fold scores of the linear probe on the training split
    (more photos than the validation split's ~16, none of them validation or test)."""
    from .crossval import calibration_from_scores, out_of_fold_scores

    if args.epochs != 0 or args.head_init != "linear-probe":
        raise TrainingError("--calibrate cv applies to a linear probe alone (--head-init linear-probe --epochs 0)")
    y = np.array([int(s.label == positive) for s in samples])
    scores = out_of_fold_scores(train_pooled, y, [s.group for s in samples], seed=args.seed, c=args.probe_c)
    calibration = calibration_from_scores(scores, y, args.target_sensitivity)
    print(f"calibration from training-split CV (Platt): temperature {calibration.temperature:.3f}, "
          f"shift {calibration.shift:+.3f}, threshold {calibration.threshold:.4f}")
    return calibration


def shift_positive_logit(model: ScalpNet, positive: int, shift: float) -> None:
    """Add ``shift`` (log-odds) to the decision score logit[positive] - logit[other] through the head's bias, half
    on each class; the Grad-CAM maps, which use the head's weights alone, do not change."""
    with torch.no_grad():
        bias = model.head.bias
        bias[positive] += shift / 2
        bias[1 - positive] -= shift / 2


def cv_references(items: Sequence[str]) -> list[dict[str, Any]]:
    """The card's reference rows from ``NAME=FILE`` items (the last ``=`` separates them; FILE is a
    ``crossval --json`` report). Raises :class:`TrainingError` naming the item that cannot be read, so ``train``
    can check them before any training."""
    references = []
    for item in items:
        name, _, path = item.rpartition("=")
        try:
            ref = json.loads(Path(path).read_text())
            references.append({"name": name, "features": ref.get("features"), "mean": ref["mean"],
                               "first_seed": ref["per_seed"][0], "probe_c": ref.get("probe_c")})
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise TrainingError(f"--cv-reference {item!r}: not NAME=FILE with a 'crossval --json' report "
                                f"({type(exc).__name__}: {exc})") from exc
        if not name:
            raise TrainingError(f"--cv-reference {item!r}: give the row a name, NAME=FILE")
    return references


def recipe_cross_validation(ckpt, args) -> dict[str, Any]:
    """The shipped recipe (linear probe on this trunk, calibrated inside each fold) under group k-fold CV on the
    whole labelled folder, plus reference rows (teacher probes...) from ``crossval --json`` files."""
    from .crossval import recipe_report
    from .features import googlenet_features, scalp_set

    samples, images, labels = scalp_set(Path(args.data_dir))
    feats = googlenet_features(ckpt.model, images, ckpt.meta)
    train_files = set(ckpt.meta.training.get("split", {}).get("train", []))
    report = recipe_report(feats, labels, [s.group for s in samples], [s.source for s in samples],
                           target_sensitivity=args.target_sensitivity, c=args.probe_c,
                           unseen=np.asarray([s.file not in train_files for s in samples]))
    report["features"] = f"{get_architecture(ckpt.meta.architecture).label} trunk of this checkpoint at 224 px"
    report["references"] = cv_references(args.cv_reference)
    if args.probe_c_candidates:
        report["probe_c_candidates"] = sorted(args.probe_c_candidates)
    mean = report["mean"]["overall"]
    print(f"recipe CV on {len(labels)} photos: AUC {mean['auc']:.3f}, sensitivity {mean['sensitivity']:.3f}, "
          f"specificity {mean['specificity']:.3f}, ECE {mean['ece']:.3f}")
    return report
