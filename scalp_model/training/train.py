"""``python -m scalp_model train DATA_DIR --out weights/NAME.pt``: the paper's recipe, end to end.

Yu et al. (Front. Med. 2022): GoogLeNet transfer learning with a new 2-class head, whole image remapped
to 224×224, Adam lr 1e-4, MSE between softmax and one-hot plus L2 regularisation, random rotation in
[-90°, 90°] and scale in [1, 2]. Here, in addition: source harmonisation and flips (``--no-harmonise``,
``--no-flip`` turn them off), a split by near-duplicate group, model selection on validation AUC,
temperature scaling and a sensitivity-targeted threshold on validation, the out-of-scope gate, the
test-split figures through the app's own Predictor, and the model card.

Flat functions in the style of torchvision's reference scripts: ``load_data``, ``train_one_epoch``,
``predict``, ``main``. ``<out>.last.pt`` holds the last epoch's full state for ``--resume``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from tqdm import tqdm

from .augment import training_augment
from .card import write_card
from ..serving.checkpoint import ModelMeta, file_sha256, load_checkpoint, save_checkpoint, softmax_positive
from .data import (ImageDataset, Sample, SkippedFiles, folder_images, load_image, readable_samples, scan_dataset,
                   select, split_by_group)
from .evaluate import evaluate_checkpoint
from ..metrics.classification import auc_ci, fit_temperature, nll, threshold_for_sensitivity
from ..serving.network import ScalpNet, build_scalpnet
from ..serving.ood import fit_gate, gate_scores
from ..serving.predictor import Predictor, resolve_device
from .non_skin import non_skin_images

FREEZE_POINTS = {
    "none": [],
    "stem": ["conv1", "conv2", "conv3"],
    "inception3": ["conv1", "conv2", "conv3", "inception3a", "inception3b"],
    "inception4": ["conv1", "conv2", "conv3", "inception3a", "inception3b", "inception4a", "inception4b",
                   "inception4c", "inception4d", "inception4e"],
}
FREEZE_POINTS["all"] = FREEZE_POINTS["inception4"] + ["inception5a", "inception5b"]


class TrainingError(RuntimeError):
    """A training run that cannot start; the message says what to change."""


# ---------------------------------------------------------------------------------------------- setup
def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    if torch.backends.cudnn.is_available():
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True


def resolve_init(init: str) -> tuple[str, str | None]:
    """``auto`` is the paper's ImageNet start where the weights can be had, else scratch with a warning.

    Returns the init actually used and, when it fell back, why (recorded in the card). An explicit
    ``--init imagenet`` never falls back: it fails with a message saying what to do.
    """
    if init != "auto":
        return init, None
    try:
        build_scalpnet(init="imagenet")
        return "imagenet", None
    except Exception as exc:  # offline, proxy, corrupt cache: all mean "not obtainable here"
        reason = f"ImageNet GoogLeNet weights unavailable ({type(exc).__name__}); trained from scratch"
        print(f"warning: --init auto: {reason}. Pass '--init PATH' with local weights for the paper's recipe.",
              file=sys.stderr, flush=True)
        return "scratch", reason


def build_model(init: str) -> tuple[ScalpNet, bool]:
    """GoogLeNet from ImageNet weights, a local state dict or scratch, with a clear message offline."""
    try:
        return build_scalpnet(init=init)
    except FileNotFoundError as exc:
        raise TrainingError(str(exc)) from exc
    except Exception as exc:
        if init != "imagenet":
            raise TrainingError(f"--init {init}: could not load GoogLeNet weights ({exc})") from exc
        raise TrainingError(
            f"--init imagenet: torchvision's ImageNet GoogLeNet weights could not be loaded "
            f"({type(exc).__name__}: {exc}). They are downloaded on first use, which fails offline. Use '--init PATH' with a local "
            "GoogLeNet state dict (e.g. the torchvision file googlenet-1378be20.pth copied from an online machine, "
            "or one made by 'python -m scalp_model.training.distill'), or '--init scratch'."
        ) from exc


def apply_freeze(model: ScalpNet, point: str) -> list[str]:
    names = FREEZE_POINTS[point]
    for name in names:
        for p in model.backbone.get_submodule(name).parameters():
            p.requires_grad_(False)
    return names


def set_train_mode(model: ScalpNet, frozen: Sequence[str]) -> None:
    """Train mode, but frozen blocks keep their BatchNorm statistics."""
    model.train()
    for name in frozen:
        model.backbone.get_submodule(name).eval()


def class_weights(spec: str, labels: Sequence[int], n_classes: int) -> torch.Tensor | None:
    if spec == "none":
        return None
    if spec == "balanced":
        counts = np.bincount(np.asarray(labels), minlength=n_classes).astype(float)
        return torch.tensor(len(labels) / (n_classes * np.maximum(counts, 1)), dtype=torch.float32)
    try:
        values = [float(v) for v in spec.split(",")]
    except ValueError:
        values = []
    if len(values) != n_classes or min(values, default=0) <= 0:
        raise TrainingError(f"--class-weights {spec!r}: use none, balanced or {n_classes} positive numbers like 1,2")
    return torch.tensor(values, dtype=torch.float32)


def loss_function(kind: str, weights: torch.Tensor | None):
    """``mse``: squared error between softmax and one-hot (the paper); ``ce``: cross-entropy."""
    def mse(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        per = ((logits.softmax(1) - F.one_hot(target, logits.shape[1]).float()) ** 2).sum(1)
        if weights is not None:
            w = weights.to(logits.device)[target]
            return (per * w).sum() / w.sum()
        return per.mean()

    def ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, target, weight=None if weights is None else weights.to(logits.device))

    if kind not in ("mse", "ce"):
        raise TrainingError(f"--loss {kind!r}: use mse or ce")
    return mse if kind == "mse" else ce


# ----------------------------------------------------------------------------------------------- data
def load_data(args: argparse.Namespace, meta: ModelMeta, resume_split: dict | None = None
              ) -> tuple[list[Sample], dict[str, list[str]]]:
    """The readable labelled images of ``args.data_dir`` and their split.

    Hidden and system files are left out and a file that cannot be decoded is skipped (before the split is
    drawn); both are listed on stderr with their count.
    """
    skipped = SkippedFiles()
    samples = readable_samples(args.data_dir, scan_dataset(args.data_dir, meta.class_names, skipped), skipped)
    if skipped:
        print(skipped.summary(), file=sys.stderr)
    if not samples:
        raise TrainingError(f"no readable image in {args.data_dir}")
    split = resume_split or split_by_group(samples, tuple(args.split), seed=args.seed)
    if resume_split:
        split = {name: [f for f in files if f in {s.file for s in samples}] for name, files in split.items()}
    for name in ("train", "val"):
        labels = {s.label for s in select(samples, split[name])}
        if len(labels) < 2:
            raise TrainingError(f"the {name} split holds only one class ({len(split[name])} images); "
                                "add images or change --split")
    return samples, split


# ------------------------------------------------------------------------------------------- training
def train_one_epoch(model: ScalpNet, loader, optimizer, loss_fn, device, frozen: Sequence[str], l2: float,
                    epoch: int, progress: bool = True) -> float:
    set_train_mode(model, frozen)
    total, count = 0.0, 0
    bar = tqdm(loader, desc=f"epoch {epoch}", leave=False, disable=not progress, unit="batch")
    for x, y in bar:
        x, y = x.to(device), y.to(device)
        loss = loss_fn(model(x), y)
        if l2 > 0:  # explicit L2 penalty on weights (not biases/BatchNorm), as MATLAB's L2Regularization
            loss = loss + 0.5 * l2 * sum((p ** 2).sum() for n, p in model.named_parameters()
                                         if p.requires_grad and p.ndim > 1)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(y)
        count += len(y)
        bar.set_postfix(loss=f"{total / count:.4f}")
    return total / max(count, 1)


@torch.inference_mode()
def predict(model: ScalpNet, dataset: ImageDataset, device, batch_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """(logits, pooled features) without augmentation, in dataset order."""
    model.eval()
    logits, pooled = [], []
    for i in range(0, len(dataset), batch_size):
        x = torch.stack([dataset[j][0] for j in range(i, min(i + batch_size, len(dataset)))]).to(device)
        lg, feats = model.classify(model.forward_features(x))
        logits.append(lg.float().cpu().numpy())
        pooled.append(feats.float().cpu().numpy())
    return np.concatenate(logits), np.concatenate(pooled)


def linear_probe_head(model: ScalpNet, dataset: ImageDataset, positive: int, device, c: float = 0.1) -> None:
    """Start the new head from a logistic regression on the (un-augmented) training features: linear probing
    before fine-tuning (LP-FT, Kumar et al. 2022), which keeps weak initial features from being wrecked by a
    random head's gradients. The regression is :func:`scalp_model.training.crossval.probe`, the one the
    cross-validation scores."""
    from .crossval import probe_weights

    _, pooled = predict(model, dataset, device)
    y = np.array([1 if s.label == positive else 0 for s in dataset.samples])
    w, b = probe_weights(pooled, y, c)
    other = 1 - positive
    with torch.no_grad():
        fc = model.backbone.fc
        fc.weight.zero_()
        fc.bias.zero_()
        fc.weight[positive] = torch.as_tensor(w / 2, dtype=fc.weight.dtype)
        fc.weight[other] = torch.as_tensor(-w / 2, dtype=fc.weight.dtype)
        fc.bias[positive], fc.bias[other] = b / 2, -b / 2


def validation_score(logits: np.ndarray, labels: np.ndarray, positive: int) -> tuple[float, float]:
    """(AUC, NLL) on validation; model selection maximises AUC, then minimises NLL."""
    y = (labels == positive).astype(int)
    if not 0 < y.sum() < len(y):
        return float("nan"), nll(logits, labels)
    auc = auc_ci(y, softmax_positive(logits.astype(np.float64), positive))[0]
    return auc, nll(logits, labels)


# ------------------------------------------------------------------------------------------ post-hoc
def ood_report(model: ScalpNet, meta: ModelMeta, state: dict, ood_dirs: Sequence[str], device, seed: int,
               limit: int, generated: int = 50) -> dict[str, dict[str, Any]]:
    """Share of out-of-scope pictures the gate rejects: each --ood-dir and generated non-skin images."""
    def rates(images) -> dict[str, Any]:
        ds = _ListDataset(images, meta)
        _, pooled = predict(model, ds, device)  # type: ignore[arg-type]
        scores = gate_scores(pooled, state)
        return {"n": len(images), "rate": round(float((scores > meta.ood_threshold).mean()), 4)}

    out: dict[str, dict[str, Any]] = {}
    for d in ood_dirs:
        files = folder_images(Path(d))
        rng = np.random.default_rng(seed)
        if limit and len(files) > limit:
            files = [files[i] for i in sorted(rng.choice(len(files), limit, replace=False))]
        images = []
        for f in files:
            try:
                images.append(load_image(f.parent, f.name))
            except Exception:  # unreadable files are not part of the rate
                continue
        out[Path(d).name] = rates(images)
    if generated:
        out["generated_non_skin"] = rates([img for _, img in non_skin_images(generated, seed=seed)])
    return out


class _ListDataset:
    """Plain images through ``model_input`` for :func:`predict`."""

    def __init__(self, images, meta: ModelMeta) -> None:
        from ..serving.preprocess import model_input

        self.images, self.meta, self._mi = images, meta, model_input

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        m = self.meta
        return torch.from_numpy(self._mi(self.images[i], m.input_size, m.mean, m.std)), 0


def command_line() -> str:
    argv = list(sys.argv)
    if argv and (argv[0].endswith("__main__.py") or argv[0].endswith("scalp_model")):
        return shlex.join(["python", "-m", "scalp_model", *argv[1:]])
    return shlex.join(["python", *argv])


# ----------------------------------------------------------------------------------------------- main
def add_arguments(parser: argparse.ArgumentParser) -> None:
    a = parser.add_argument
    a("data_dir", help="ImageFolder with psoriasis/ and seborrheic_dermatitis/ and optional groups.csv "
                       "(file,group[,source]; file relative to DATA_DIR)")
    a("--out", default="weights/scalpscope-googlenet.pt", help="checkpoint to write; the card goes to <out>.md")
    a("--init", default="auto", help="auto (ImageNet where obtainable, else scratch with a warning), imagenet "
                                     "(torchvision weights, needs internet once), scratch, or PATH of a GoogLeNet "
                                     "state dict (default auto)")
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
    a("--freeze", choices=tuple(FREEZE_POINTS), default="none", help="freeze the trunk up to this block (default none)")
    a("--split", type=float, nargs=3, default=(0.8, 0.1, 0.1), metavar=("TRAIN", "VAL", "TEST"),
      help="group split fractions (default 0.8 0.1 0.1)")
    a("--seed", type=int, default=0, help="seed for split, initialisation, order and augmentation (default 0)")
    a("--no-harmonise", dest="harmonise", action="store_false", help="turn off source harmonisation")
    a("--no-flip", dest="flip", action="store_false", help="turn off horizontal flips")
    a("--target-sensitivity", type=float, default=0.95, help="threshold chosen on validation for this sensitivity (default 0.95)")
    a("--calibrate", choices=("validation", "cv"), default="validation",
      help="fit temperature and threshold on the validation split (default) or, for a linear probe alone, on "
           "group k-fold out-of-fold scores of the training split; cv also records the recipe's cross-validation")
    a("--cv-reference", action="append", default=[], metavar="NAME=FILE",
      help="with --calibrate cv: a 'crossval --json' report to list beside this model in the card (repeatable)")
    a("--provenance", default=None, metavar="FILE",
      help="Markdown describing the data this model saw, for the card (default: the project's ../shared/data, "
           "which is wrong for a clinic's own photos)")
    a("--distill-log", default=None, help="log.jsonl of the distillation behind --init: its fidelity goes into the card")
    a("--uncertain-band", type=float, default=0.1, help="|p - threshold| below this is flagged uncertain (default 0.1)")
    a("--ood-dir", action="append", default=[], help="folder of out-of-scope images to report the gate's rejection rate on (repeatable)")
    a("--ood-limit", type=int, default=300, help="at most this many images per --ood-dir (default 300; 0 = all)")
    a("--ood-generated", type=int, default=50, help="generated non-skin images (documents, landscapes, gradients...) "
                                                    "to report the gate's rejection rate on (default 50)")
    a("--ood-components", type=int, default=32, help="PCA components of the out-of-scope gate (default 32)")
    a("--ood-pass", type=float, default=0.975, help="share of in-scope validation images the gate lets pass (default 0.975)")
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
    t_start = time.time()
    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    last_path = out.with_name(out.stem + ".last.pt")
    resume = None
    if args.resume:
        resume = torch.load(args.resume, map_location="cpu", weights_only=True)
    seed_everything(args.seed)
    device = resolve_device(args.device)
    base = ModelMeta()
    samples, split = load_data(args, base, resume["split"] if resume else None)
    args.init, init_fallback = resolve_init(args.init)
    if init_fallback:
        args.note = [*(getattr(args, "note", None) or []), init_fallback]
    model, transform_input = build_model(args.init)
    meta = ModelMeta(transform_input=transform_input)
    model.to(device)
    frozen = apply_freeze(model, args.freeze)
    aug = training_augment(harmonise=args.harmonise, flip=args.flip)
    kw = dict(size=meta.input_size, mean=meta.mean, std=meta.std)
    train_ds = ImageDataset(args.data_dir, select(samples, split["train"]), augment=aug, seed=args.seed, **kw)
    val_ds = ImageDataset(args.data_dir, select(samples, split["val"]), **kw)
    train_labels = [s.label for s in train_ds.samples]
    val_labels = np.array([s.label for s in val_ds.samples])
    loss_fn = loss_function(args.loss, class_weights(args.class_weights, train_labels, len(meta.class_names)))
    head = [p for p in model.backbone.fc.parameters() if p.requires_grad]
    trunk = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("backbone.fc.")]
    optimizer = torch.optim.Adam([{"params": trunk, "lr": args.lr},
                                  {"params": head, "lr": args.lr * args.head_lr_factor}], lr=args.lr)
    positive = meta.positive_index
    history: list[dict[str, Any]] = []
    best = {"auc": -1.0, "nll": float("inf"), "epoch": 0, "state": None}
    start_epoch = 1
    if resume:
        model.load_state_dict(resume["model"])
        try:
            optimizer.load_state_dict(resume["optimizer"])
        except ValueError as exc:  # a state from another optimiser layout: moments restart from zero
            print(f"warning: optimiser state not restored ({exc})", file=sys.stderr)
        history, start_epoch = list(resume["history"]), int(resume["epoch"]) + 1
        best = {"auc": float(resume["best_auc"]), "nll": float(resume["best_nll"]), "epoch": int(resume["best_epoch"]),
                "state": resume["best_state"]}
        print(f"resumed from {args.resume} at epoch {start_epoch}")
    if args.head_init == "linear-probe" and not resume:
        linear_probe_head(model, ImageDataset(args.data_dir, train_ds.samples, **kw), positive, device)
        auc, val_nll = validation_score(predict(model, val_ds, device)[0], val_labels, positive)
        print(f"linear probe: val AUC {auc:.3f}, val NLL {val_nll:.3f}")
        history.append({"epoch": 0, "train_loss": None, "val_auc": round(auc, 4), "val_nll": round(val_nll, 4),
                        "seconds": 0.0, "note": "linear probe"})
        best = {"auc": auc, "nll": val_nll, "epoch": 0,
                "state": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}
    generator = torch.Generator().manual_seed(args.seed)
    print(f"train {len(train_ds)} / val {len(val_ds)} / test {len(split['test'])} images; device {device}; "
          f"init {args.init}; loss {args.loss}")
    for epoch in range(start_epoch, args.epochs + 1):
        generator.manual_seed(args.seed * 1000 + epoch)
        train_ds.epoch = epoch
        loader = torch.utils.data.DataLoader(train_ds, batch_size=args.batch_size, shuffle=True,
                                             num_workers=args.workers, generator=generator, drop_last=len(train_ds) > args.batch_size)
        t0 = time.time()
        train_loss = train_one_epoch(model, loader, optimizer, loss_fn, device, frozen, args.l2, epoch, args.progress)
        val_logits, _ = predict(model, val_ds, device)
        auc, val_nll = validation_score(val_logits, val_labels, positive)
        improved = auc > best["auc"] + 1e-9 or (abs(auc - best["auc"]) <= 1e-9 and val_nll < best["nll"])
        if improved:
            best = {"auc": auc, "nll": val_nll, "epoch": epoch,
                    "state": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}}
        history.append({"epoch": epoch, "train_loss": round(train_loss, 5), "val_auc": round(auc, 4),
                        "val_nll": round(val_nll, 4), "seconds": round(time.time() - t0, 1)})
        print(f"epoch {epoch}/{args.epochs}: train loss {train_loss:.4f}, val AUC {auc:.3f}, val NLL {val_nll:.3f}"
              f"{' *' if improved else ''} ({time.time() - t0:.0f}s)", flush=True)
        last_path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                    "args": _jsonable(vars(args)), "history": history, "split": split, "best_auc": best["auc"],
                    "best_nll": best["nll"], "best_epoch": best["epoch"], "best_state": best["state"]}, last_path)
    if best["state"] is None or not history:
        raise TrainingError("no epoch was run (check --epochs and --resume)")
    model.load_state_dict(best["state"])
    return finish(args, model, meta, samples, split, train_ds, val_ds, history, best["epoch"], device, t_start)


def _jsonable(d: dict) -> dict:
    return json.loads(json.dumps(d, default=str))


def finish(args, model: ScalpNet, meta: ModelMeta, samples, split, train_ds, val_ds, history, best_epoch, device,
           t_start) -> int:
    """Calibrate, fit the gate, evaluate on test through the Predictor, write checkpoint and card."""
    out = Path(args.out)
    positive = meta.positive_index
    val_labels = np.array([s.label for s in val_ds.samples])
    val_logits, val_pooled = predict(model, val_ds, device)
    plain_train = ImageDataset(args.data_dir, train_ds.samples, size=meta.input_size, mean=meta.mean, std=meta.std)
    _, train_pooled = predict(model, plain_train, device)
    if getattr(args, "calibrate", "validation") == "cv":
        temperature, threshold = cv_calibration(train_pooled, train_ds.samples, positive, args)
    else:
        temperature = fit_temperature(val_logits, val_labels)
        val_probs = softmax_positive(val_logits.astype(np.float64), positive, temperature)
        y_val = (val_labels == positive).astype(int)
        threshold = threshold_for_sensitivity(y_val, val_probs, args.target_sensitivity)
    ood_state = fit_gate(train_pooled, args.ood_components)
    val_scores = gate_scores(val_pooled, ood_state)
    ood_threshold = float(np.quantile(val_scores, args.ood_pass))
    meta = ModelMeta(
        transform_input=meta.transform_input, temperature=round(float(temperature), 6), threshold=round(float(threshold), 6),
        uncertain_band=args.uncertain_band, ood_threshold=round(ood_threshold, 6),
        version=args.version or f"{out.stem}-{dt.date.today().isoformat()}",
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        training=_jsonable(training_record(args, split, history, best_epoch, t_start)),
    )
    model.cpu()
    save_checkpoint(out, model, meta, ood_state)
    # Figures through the saved file and the app's Predictor, so they are exactly what the app shows.
    ckpt = load_checkpoint(out, check_card=False)
    predictor = Predictor(ckpt, device=str(device))
    metrics: dict[str, Any] = {}
    if split["test"]:
        metrics["test"], _, _ = evaluate_checkpoint(predictor, args.data_dir, "test")
    metrics["val"], _, _ = evaluate_checkpoint(predictor, args.data_dir, "val")
    metrics["val"].pop("by_source", None)
    ood = ood_report(ckpt.model.to(device), meta, ood_state, args.ood_dir, device, args.seed, args.ood_limit,
                     args.ood_generated)
    metrics["ood"] = {"components": args.ood_components, "val_pass_rate": round(float((val_scores <= ood_threshold).mean()), 4),
                      "rejection": ood}
    metrics["best_epoch"] = best_epoch
    if getattr(args, "calibrate", "validation") == "cv":
        metrics["cross_validation"] = recipe_cross_validation(ckpt, args)
    if getattr(args, "distill_log", None):
        metrics["distillation"] = distillation_summary(Path(args.distill_log))
    meta = ModelMeta(**{**meta.__dict__, "metrics": _jsonable(metrics)})
    sha = save_checkpoint(out, ckpt.model.cpu(), meta, ood_state)
    card = write_card(out, meta, sha)  # written after the file, carrying its sha256
    load_checkpoint(out)  # the card and the file agree
    test = metrics.get("test", {})
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, sha256 {sha[:12]}…) and {card}")
    if test:
        print(f"test: n={test['n']} AUC {test['auc']} {test['auc_ci']}, sensitivity {test['sensitivity']}, "
              f"specificity {test['specificity']} at threshold {meta.threshold:.4f}")
    print("out-of-scope rejection: " + ", ".join(f"{k} {v['rate']:.2f}" for k, v in ood.items()))
    if args.quantize:
        quantize_after_training(out, Path(args.data_dir))
    return 0


def cv_calibration(train_pooled: np.ndarray, samples, positive: int, args) -> tuple[float, float]:
    """Temperature and threshold from group k-fold out-of-fold scores of the linear probe on the training split
    (more photos than the validation split's ~16, none of them validation or test)."""
    from .crossval import calibration_from_scores, out_of_fold_scores

    if args.epochs != 0 or args.head_init != "linear-probe":
        raise TrainingError("--calibrate cv applies to a linear probe alone (--head-init linear-probe --epochs 0)")
    y = np.array([int(s.label == positive) for s in samples])
    scores = out_of_fold_scores(train_pooled, y, [s.group for s in samples], seed=args.seed)
    temperature, threshold = calibration_from_scores(scores, y, args.target_sensitivity)
    print(f"calibration from training-split CV: temperature {temperature:.3f}, threshold {threshold:.4f}")
    return temperature, threshold


def recipe_cross_validation(ckpt, args) -> dict[str, Any]:
    """The shipped recipe (linear probe on this trunk, calibrated inside each fold) under group k-fold CV on the
    whole labelled folder, plus reference rows (teacher probes...) from ``crossval --json`` files."""
    from .crossval import recipe_report
    from .features import googlenet_features, scalp_set

    samples, images, labels = scalp_set(Path(args.data_dir))
    feats = googlenet_features(ckpt.model, images, ckpt.meta)
    train_files = set(ckpt.meta.training.get("split", {}).get("train", []))
    report = recipe_report(feats, labels, [s.group for s in samples], [s.source for s in samples],
                           target_sensitivity=args.target_sensitivity,
                           unseen=np.asarray([s.file not in train_files for s in samples]))
    report["features"] = "GoogLeNet trunk of this checkpoint at 224 px"
    references = []
    for item in args.cv_reference:
        name, _, path = item.partition("=")
        ref = json.loads(Path(path).read_text())
        references.append({"name": name, "features": ref.get("features"), "mean": ref["mean"],
                           "first_seed": ref["per_seed"][0]})
    report["references"] = references
    mean = report["mean"]["overall"]
    print(f"recipe CV on {len(labels)} photos: AUC {mean['auc']:.3f}, sensitivity {mean['sensitivity']:.3f}, "
          f"specificity {mean['specificity']:.3f}, ECE {mean['ece']:.3f}")
    return report


def distillation_summary(log_path: Path) -> dict[str, Any]:
    """How far the distillation behind ``--init`` got: its last training entry and last held-back measures."""
    entries = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    train_rows = [e for e in entries if e.get("kind") == "train"]
    evals = [e for e in entries if e.get("kind") == "eval"]
    if not train_rows:
        raise TrainingError(f"{log_path} holds no training entry")
    last = train_rows[-1]
    return {"log": str(log_path), "step": last["step"], "hours": last["hours"], "epochs": last.get("epochs"),
            "first_eval": evals[0] if evals else None, "last_eval": evals[-1] if evals else None,
            "curve": [{k: e.get(k) for k in ("step", "hours", "feature_r2", "task_r", "probe_224")} for e in evals]}


def quantize_after_training(out: Path, data_dir: Path) -> None:
    """Calibrate int8 inference for the new weights; a failure leaves a working fp32 checkpoint."""
    from .quantize import quantize_checkpoint

    try:
        _, q = quantize_checkpoint(out, data_dir)
    except Exception as exc:  # noqa: BLE001 - int8 is an optimisation; the checkpoint stays valid without it
        print(f"warning: int8 calibration failed ({type(exc).__name__}: {exc}); the app will run fp32",
              file=sys.stderr)
        return
    h = q["heldout"]
    print(f"int8 on {h['n']} held-out images: AUC change {h['auc_change']}, largest probability change "
          f"{h['max_probability_change']:.4f}, {h['decision_flips']} decision(s) flipped")


def training_record(args, split, history, best_epoch, t_start) -> dict[str, Any]:
    init_info: dict[str, Any] = {"init": args.init}
    if args.init not in ("imagenet", "scratch") and Path(args.init).is_file():
        init_info["init_sha256"] = file_sha256(Path(args.init))
        side = Path(args.init).with_suffix(".json")
        if side.is_file():  # the distillation log written by scalp_model.training.distill
            try:
                log = json.loads(side.read_text())
                init_info["init_log"] = {"args": log.get("args"), "last": (log.get("log") or [None])[-1]}
            except ValueError:
                pass
    recipe = [
        f"init: {args.init}" + (" (torchvision ImageNet GoogLeNet)" if args.init == "imagenet" else ""),
        f"Adam lr {args.lr} (new head x{args.head_lr_factor}, {args.head_init} init), {args.epochs} epochs, batch {args.batch_size}, loss {args.loss}"
        + (" (softmax vs one-hot)" if args.loss == "mse" else "") + f", L2 {args.l2}, class weights {args.class_weights}, freeze {args.freeze}",
        "augmentation: random rotation [-90°, 90°], random scale [1, 2]"
        + (", source harmonisation (downscale to 200-320 px, JPEG q40-90, footer cut)" if args.harmonise else "")
        + (", horizontal flip" if args.flip else ""),
        f"best epoch by validation AUC (then NLL): {best_epoch}; temperature by LBFGS on validation NLL; "
        f"threshold for validation sensitivity >= {args.target_sensitivity}",
    ] + list(args.note)
    return {
        **init_info,
        "args": _jsonable(vars(args)),
        "command": command_line(),
        "commands": list(args.pipeline) + [command_line()],
        "recipe": recipe,
        "seed": args.seed,
        "target_sensitivity": args.target_sensitivity,
        **({"provenance": Path(args.provenance).read_text(encoding="utf-8").strip()}
           if getattr(args, "provenance", None) else {}),
        "data_dir": str(args.data_dir),
        "split": split,
        "history": history,
        "best_epoch": best_epoch,
        "train_seconds": round(time.time() - t_start),
        "torch": str(torch.__version__),
        "torchvision": str(torchvision.__version__),
        "python": platform.python_version(),
    }


if __name__ == "__main__":  # pragma: no cover
    p = argparse.ArgumentParser()
    add_arguments(p)
    raise SystemExit(main(p.parse_args()))
