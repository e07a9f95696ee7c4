"""The training loop: labelled data and its split, one epoch, plain predictions, the linear-probe start,
validation scores and the epoch loop with its ``<out>.last.pt`` state for ``--resume``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from tqdm import tqdm

from ..metrics.classification import auc_ci, nll
from ..serving.checkpoint import ModelMeta, softmax_positive
from ..serving.network import ScalpNet
from .data import ImageDataset, Sample, SkippedFiles, readable_samples, scan_dataset, select, split_by_group
from .recipe import TrainingError, set_train_mode


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
        fc = model.head
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


def make_optimizer(model: ScalpNet, args: argparse.Namespace) -> torch.optim.Adam:
    """Adam with the trunk at ``--lr`` and the new head at ``--lr`` x ``--head-lr-factor``; frozen weights left out."""
    head = [p for p in model.head.parameters() if p.requires_grad]
    head_ids = {id(p) for p in model.head.parameters()}
    trunk = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    return torch.optim.Adam([{"params": trunk, "lr": args.lr},
                             {"params": head, "lr": args.lr * args.head_lr_factor}], lr=args.lr)


def snapshot(model: ScalpNet) -> dict[str, torch.Tensor]:
    """A CPU copy of the weights (the best epoch's, kept while training goes on)."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def restore(resume: dict | None, model: ScalpNet, optimizer, args: argparse.Namespace
            ) -> tuple[list[dict[str, Any]], dict[str, Any], int]:
    """(history, best, first epoch) from a ``<out>.last.pt`` state, or a fresh start when ``resume`` is None."""
    if not resume:
        return [], {"auc": -1.0, "nll": float("inf"), "epoch": 0, "state": None}, 1
    model.load_state_dict(resume["model"])
    try:
        optimizer.load_state_dict(resume["optimizer"])
    except ValueError as exc:  # a state from another optimiser layout: moments restart from zero
        print(f"warning: optimiser state not restored ({exc})", file=sys.stderr)
    best = {"auc": float(resume["best_auc"]), "nll": float(resume["best_nll"]), "epoch": int(resume["best_epoch"]),
            "state": resume["best_state"]}
    print(f"resumed from {args.resume} at epoch {int(resume['epoch']) + 1}")
    return list(resume["history"]), best, int(resume["epoch"]) + 1


def probe_start(model: ScalpNet, train_ds: ImageDataset, val_ds: ImageDataset, args: argparse.Namespace,
                positive: int, device, history: list[dict[str, Any]]) -> dict[str, Any]:
    """``--head-init linear-probe``: fit the head on the training features; epoch 0 of the history."""
    kw = dict(size=train_ds.size, mean=train_ds.mean, std=train_ds.std)
    linear_probe_head(model, ImageDataset(args.data_dir, train_ds.samples, **kw), positive, device,
                      c=getattr(args, "probe_c", 0.1))
    val_labels = np.array([s.label for s in val_ds.samples])
    auc, val_nll = validation_score(predict(model, val_ds, device)[0], val_labels, positive)
    print(f"linear probe: val AUC {auc:.3f}, val NLL {val_nll:.3f}")
    history.append({"epoch": 0, "train_loss": None, "val_auc": round(auc, 4), "val_nll": round(val_nll, 4),
                    "seconds": 0.0, "note": "linear probe"})
    return {"auc": auc, "nll": val_nll, "epoch": 0, "state": snapshot(model)}


def fit(args: argparse.Namespace, model: ScalpNet, optimizer, loss_fn, device, frozen: Sequence[str],
        train_ds: ImageDataset, val_ds: ImageDataset, split: dict[str, list[str]], history: list[dict[str, Any]],
        best: dict[str, Any], start_epoch: int, last_path: Path) -> dict[str, Any]:
    """Epochs ``start_epoch..--epochs``; keeps the best by validation AUC (then NLL), saves ``last_path`` each epoch."""
    positive = ModelMeta().positive_index
    val_labels = np.array([s.label for s in val_ds.samples])
    generator = torch.Generator().manual_seed(args.seed)
    for epoch in range(start_epoch, args.epochs + 1):
        generator.manual_seed(args.seed * 1000 + epoch)
        train_ds.epoch = epoch
        loader = torch.utils.data.DataLoader(train_ds, batch_size=args.batch_size, shuffle=True,
                                             num_workers=args.workers, generator=generator,
                                             drop_last=len(train_ds) > args.batch_size)
        t0 = time.time()
        train_loss = train_one_epoch(model, loader, optimizer, loss_fn, device, frozen, args.l2, epoch, args.progress)
        auc, val_nll = validation_score(predict(model, val_ds, device)[0], val_labels, positive)
        improved = auc > best["auc"] + 1e-9 or (abs(auc - best["auc"]) <= 1e-9 and val_nll < best["nll"])
        if improved:
            best = {"auc": auc, "nll": val_nll, "epoch": epoch, "state": snapshot(model)}
        history.append({"epoch": epoch, "train_loss": round(train_loss, 5), "val_auc": round(auc, 4),
                        "val_nll": round(val_nll, 4), "seconds": round(time.time() - t0, 1)})
        print(f"epoch {epoch}/{args.epochs}: train loss {train_loss:.4f}, val AUC {auc:.3f}, val NLL {val_nll:.3f}"
              f"{' *' if improved else ''} ({time.time() - t0:.0f}s)", flush=True)
        last_path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                    "args": jsonable(vars(args)), "history": history, "split": split, "best_auc": best["auc"],
                    "best_nll": best["nll"], "best_epoch": best["epoch"], "best_state": best["state"]}, last_path)
    return best


def jsonable(d: dict) -> dict:
    """``d`` with every value JSON can't hold turned into its ``str`` (paths, tuples stay lists)."""
    return json.loads(json.dumps(d, default=str))
