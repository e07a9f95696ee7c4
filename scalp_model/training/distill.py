"""Feature distillation: a GoogLeNet from scratch learns to reproduce an ImageNet teacher.

ImageNet GoogLeNet weights cannot be downloaded on an offline machine, and 112 scalp photos are far too
few to learn visual features from scratch. Instead a fresh GoogLeNet learns to regress the pooled
features (through a linear projector) and the ImageNet class distribution of EfficientNet-Lite0 on the
views cached by ``python -m scalp_model.training.teacher cache`` (scalp training split + body sites + other
dermoscopy; no scalp validation or test image is ever seen). No disease label is used here. The result
is a torchvision GoogLeNet state dict for ``python -m scalp_model train --init PATH``.

Views are stored at 160 px and, to save CPU, seen at ``--size`` (112) for most of the schedule and at
their full 160 px for the last ``--final-share`` of it.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..serving.checkpoint import POSITIVE_CLASS, ModelMeta
from .fm_student import FunctionMatchingStudent


# The same student as patient distillation's (GoogLeNet + projector, ImageNet-logit and scalp-logit heads).
Student = FunctionMatchingStudent


def scalp_view_labels(data, cache_path: Path, n_views: int) -> np.ndarray:
    """1 psoriasis / 0 seborrheic dermatitis for scalp training views, -1 for every other view."""
    if "scalp_labels" in data.files:
        return data["scalp_labels"].astype(int)
    # Caches written before labels were stored: scalp views come first, in split order, equally many each.
    info = json.loads(cache_path.with_suffix(".json").read_text())
    files = info["split"]["train"]
    kinds = data["kinds"]
    n_scalp = int((kinds == "scalp").sum())
    per = n_scalp // len(files)
    labels = np.full(n_views, -1)
    labels[:n_scalp] = np.repeat([1 if f.split("/")[0] == POSITIVE_CLASS else 0 for f in files], per)
    return labels


def task_targets(features: np.ndarray, labels: np.ndarray, c: float) -> np.ndarray:
    """The teacher's scalp-disease logit for every view: a logistic head on its standardised features,
    fitted on the scalp training views only (their labels are the only labels used)."""
    from sklearn.linear_model import LogisticRegression

    mask = labels >= 0
    clf = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(features[mask], labels[mask])
    a = clf.decision_function(features)
    return ((a - a[mask].mean()) / a[mask].std()).astype(np.float32)


def _inputs(views: np.ndarray, size: int, mean: torch.Tensor, std: torch.Tensor, flip: torch.Tensor | None) -> torch.Tensor:
    x = torch.from_numpy(views).permute(0, 3, 1, 2).float().div_(255.0)
    if flip is not None:
        x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return (x - mean) / std


@dataclass
class Views:
    """The cached views and the teacher's outputs for them, split into training and held-out views."""

    views: np.ndarray  # (n, side, side, 3) uint8
    targets: np.ndarray  # the teacher's standardised pooled features
    logits: np.ndarray  # the teacher's ImageNet logits
    task: np.ndarray | None  # the teacher probe's scalp-disease logit, when --task-weight > 0
    held: np.ndarray
    train_idx: np.ndarray
    mean: torch.Tensor = field(default_factory=lambda: torch.tensor(ModelMeta().mean).view(1, 3, 1, 1))
    std: torch.Tensor = field(default_factory=lambda: torch.tensor(ModelMeta().std).view(1, 3, 1, 1))


def load_views(args: argparse.Namespace, rng: np.random.Generator) -> Views:
    """Read ``args.cache``, standardise the teacher's features, and hold out 5 % of the views (at least 64)."""
    data = np.load(args.cache)
    views, feats, logits = data["views"], data["features"].astype(np.float32), data["logits"].astype(np.float32)
    mu, sd = feats.mean(0), feats.std(0) + 1e-3
    targets = (feats - mu) / sd
    task = None
    if args.task_weight > 0:
        task = task_targets(targets, scalp_view_labels(data, Path(args.cache), len(views)), args.task_c)
    n = len(views)
    order = rng.permutation(n)
    held = order[: max(64, n // 20)]
    return Views(views, targets, logits, task, held, order[len(held):])


def build_student(args: argparse.Namespace, data: Views) -> Student:
    """A fresh student, or (``--init``) one whose GoogLeNet continues an earlier distillation."""
    model = Student(data.targets.shape[1], data.logits.shape[1])
    if args.init:  # continue from an earlier distillation (the small heads are re-learnt quickly)
        state = torch.load(args.init, map_location="cpu", weights_only=True)
        state.pop("__transform_input__", None)
        missing = model.net.backbone.load_state_dict(state, strict=False).missing_keys
        if [k for k in missing if not k.startswith("fc.")]:
            raise SystemExit(f"--init {args.init}: not a GoogLeNet state dict written by this script")
    return model


class Schedule:
    """Linear warm-up then cosine decay over ``total`` steps; with ``--minutes``, ``total`` is refitted to the
    wall-clock budget as the run goes (the CPU may be shared and its speed vary)."""

    def __init__(self, args: argparse.Namespace, steps_per_epoch: int, full_side: int) -> None:
        self.args, self.steps_per_epoch, self.full_side = args, steps_per_epoch, full_side
        self.max_steps = self.total = args.epochs * steps_per_epoch
        self.t_start = time.time()
        self.mark = (time.time(), 0)

    def lr(self, s: int) -> float:
        args, warm = self.args, self.args.warmup
        if s < warm:
            return args.lr * (s + 1) / warm
        return args.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, (s - warm) / max(1, self.total - warm))))

    def size(self, step: int) -> int:
        """``--size`` for most of the schedule, the views' full side for the last ``--final-share``."""
        return self.args.size if step < (1 - self.args.final_share) * self.total else self.full_side

    def refit(self, step: int, size: int) -> None:
        """Every 25 steps: the remaining steps that fit the budget at the speed measured since the last refit."""
        args = self.args
        if not (args.minutes and step % 25 == 5 and step > 5):
            return
        now = time.time()
        if step > 30:
            per_step = (now - self.mark[0]) / (step - self.mark[1])
            big = (self.full_side / args.size) ** 2
            left = max(0.0, args.minutes * 60 - (now - self.t_start))
            small_cost = per_step / (big if size != args.size else 1.0)
            # remaining steps n with a final share at full size: n*(1-f)*c + n*f*c*big = left
            n_left = int(left / (small_cost * ((1 - args.final_share) + args.final_share * big)))
            self.total = max(step + 1, min(self.max_steps, step + n_left))
            print(f"{per_step:.2f}s/step: schedule now {self.total} steps "
                  f"({self.total / self.steps_per_epoch:.1f} epochs)", flush=True)
        self.mark = (now, step)


def held_out_r2(model: Student, data: Views, size: int) -> float:
    """R² of the student's projected features against the teacher's on the held-out views, seen at ``size``."""
    held, targets = data.held, data.targets
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(_inputs(data.views[held[i:i + 64]], size, data.mean, data.std, None))[0]
                          for i in range(0, len(held), 64)]).numpy()
    model.train()
    return float(1 - ((pred - targets[held]) ** 2).sum() / ((targets[held] - targets[held].mean(0)) ** 2).sum())


def train_step(model: Student, opt: torch.optim.Optimizer, data: Views, idx: np.ndarray, x: torch.Tensor,
               lr: float, args: argparse.Namespace) -> dict[str, torch.Tensor]:
    """One optimiser step on the views ``idx`` (model input ``x``); the loss and its three parts."""
    for g in opt.param_groups:
        g["lr"] = lr
    f_pred, l_pred, a_pred = model(x)
    loss_f = F.mse_loss(f_pred, torch.from_numpy(data.targets[idx]))
    loss_task = F.mse_loss(a_pred, torch.from_numpy(data.task[idx])) if data.task is not None else torch.zeros(())
    t = args.kd_temperature
    loss_kd = F.kl_div(F.log_softmax(l_pred / t, 1), F.softmax(torch.from_numpy(data.logits[idx]) / t, 1),
                       reduction="batchmean") * t * t
    loss = loss_f + args.kd_weight * loss_kd + args.task_weight * loss_task
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return {"loss": loss, "feat": loss_f, "kd": loss_kd, "task": loss_task}


def run_epoch(model: Student, opt: torch.optim.Optimizer, data: Views, schedule: Schedule, rng: np.random.Generator,
              step: int, args: argparse.Namespace) -> tuple[int, int]:
    """One pass over the training views in a new order (it stops early at the schedule's end); the step reached
    and the input size last used."""
    perm = rng.permutation(data.train_idx)
    size = schedule.size(step)
    for b in range(schedule.steps_per_epoch):
        if step >= schedule.total:
            break
        idx = np.sort(perm[b * args.batch_size:(b + 1) * args.batch_size])
        size = schedule.size(step)
        x = _inputs(data.views[idx], size, data.mean, data.std, torch.from_numpy(rng.random(len(idx)) < 0.5))
        parts = train_step(model, opt, data, idx, x, schedule.lr(step), args)
        step += 1
        schedule.refit(step, size)
        if step % 50 == 0:
            print(f"step {step}/{schedule.total} loss {parts['loss'].item():.4f} (feat {parts['feat'].item():.4f}, "
                  f"kd {parts['kd'].item():.4f}, task {parts['task'].item():.4f}) "
                  f"{time.time() - schedule.t_start:.0f}s", flush=True)
    return step, size


def distill(args: argparse.Namespace) -> int:
    """Train the student on the cached views for ``--epochs`` (or ``--minutes``), saving after every epoch."""
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    data = load_views(args, rng)
    model = build_student(args, data)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    schedule = Schedule(args, len(data.train_idx) // args.batch_size, data.views.shape[1])
    log: list[dict] = []
    model.train()
    step, epoch = 0, 0
    while step < schedule.total:
        step, size = run_epoch(model, opt, data, schedule, rng, step, args)
        epoch += 1
        r2 = held_out_r2(model, data, size)
        log.append({"epoch": epoch, "step": step, "held_out_r2": round(r2, 4),
                    "seconds": round(time.time() - schedule.t_start)})
        print(f"epoch {epoch}: held-out feature R² {r2:.3f}", flush=True)
        save(model, args, log)
    return 0


def save(model: Student, args: argparse.Namespace, log: list) -> None:
    state = {k: v.detach().clone() for k, v in model.net.backbone.state_dict().items() if not k.startswith("fc.")}
    state["__transform_input__"] = False
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, out.with_suffix(".tmp"))
    out.with_suffix(".tmp").replace(out)
    out.with_suffix(".json").write_text(json.dumps({"args": vars(args), "log": log}, indent=1, default=str))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scalp_model.training.distill", description=__doc__.splitlines()[0])
    p.add_argument("cache", help=".npz written by 'python -m scalp_model.training.teacher cache'")
    p.add_argument("--out", required=True, help="GoogLeNet state dict (.pth) for 'train --init'")
    p.add_argument("--epochs", type=int, default=30, help="upper bound on epochs (default 30)")
    p.add_argument("--minutes", type=float, default=0, help="wall-clock budget; the cosine schedule is fitted to it")
    p.add_argument("--size", type=int, default=112, help="input side for most of the schedule (default 112)")
    p.add_argument("--final-share", type=float, default=0.2, help="last share of steps at the views' full size")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--kd-weight", type=float, default=0.5, help="weight of the ImageNet-logit KL term")
    p.add_argument("--kd-temperature", type=float, default=2.0)
    p.add_argument("--task-weight", type=float, default=0.0,
                   help="weight of regressing the teacher's scalp-disease logit (a logistic head on its features "
                        "fitted on the scalp training views); 0 = label-free distillation (default 0)")
    p.add_argument("--task-c", type=float, default=0.1, help="inverse L2 strength of that logistic head (default 0.1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init", default=None, help="continue from a state dict written by an earlier run")
    p.add_argument("--warmup", type=int, default=100, help="linear warm-up steps (default 100)")
    p.add_argument("--threads", type=int, default=2)
    return distill(p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
