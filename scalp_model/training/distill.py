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


def distill(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
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
    train_idx = order[len(held):]
    meta = ModelMeta()
    mean = torch.tensor(meta.mean).view(1, 3, 1, 1)
    std = torch.tensor(meta.std).view(1, 3, 1, 1)
    model = Student(feats.shape[1], logits.shape[1])
    if args.init:  # continue from an earlier distillation (the small heads are re-learnt quickly)
        state = torch.load(args.init, map_location="cpu", weights_only=True)
        state.pop("__transform_input__", None)
        missing = model.net.backbone.load_state_dict(state, strict=False).missing_keys
        if [k for k in missing if not k.startswith("fc.")]:
            raise SystemExit(f"--init {args.init}: not a GoogLeNet state dict written by this script")
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = len(train_idx) // args.batch_size
    max_steps = args.epochs * steps_per_epoch
    total_steps, step, t_start = max_steps, 0, time.time()
    log = []

    def lr_at(s: int) -> float:
        warm = args.warmup
        if s < warm:
            return args.lr * (s + 1) / warm
        return args.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, (s - warm) / max(1, total_steps - warm))))

    def evaluate(size: int) -> float:
        model.eval()
        with torch.no_grad():
            pred = torch.cat([model(_inputs(views[held[i:i + 64]], size, mean, std, None))[0]
                              for i in range(0, len(held), 64)]).numpy()
        model.train()
        return float(1 - ((pred - targets[held]) ** 2).sum() / ((targets[held] - targets[held].mean(0)) ** 2).sum())

    model.train()
    epoch = 0
    mark = (time.time(), 0)
    while step < total_steps:
        perm = rng.permutation(train_idx)
        for b in range(steps_per_epoch):
            if step >= total_steps:
                break
            idx = np.sort(perm[b * args.batch_size:(b + 1) * args.batch_size])
            size = args.size if step < (1 - args.final_share) * total_steps else views.shape[1]
            x = _inputs(views[idx], size, mean, std, torch.from_numpy(rng.random(len(idx)) < 0.5))
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            f_pred, l_pred, a_pred = model(x)
            loss_f = F.mse_loss(f_pred, torch.from_numpy(targets[idx]))
            loss_task = F.mse_loss(a_pred, torch.from_numpy(task[idx])) if task is not None else torch.zeros(())
            t = args.kd_temperature
            loss_kd = F.kl_div(F.log_softmax(l_pred / t, 1), F.softmax(torch.from_numpy(logits[idx]) / t, 1),
                               reduction="batchmean") * t * t
            loss = loss_f + args.kd_weight * loss_kd + args.task_weight * loss_task
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if args.minutes and step % 25 == 5 and step > 5:
                # Refit the schedule to the wall-clock budget (the CPU may be shared and its speed vary).
                now = time.time()
                if step > 30:
                    per_step = (now - mark[0]) / (step - mark[1])
                    big = (views.shape[1] / args.size) ** 2
                    left = max(0.0, args.minutes * 60 - (now - t_start))
                    small_cost = per_step / (big if size != args.size else 1.0)
                    # remaining steps n with a final share at full size: n*(1-f)*c + n*f*c*big = left
                    n_left = int(left / (small_cost * ((1 - args.final_share) + args.final_share * big)))
                    total_steps = max(step + 1, min(max_steps, step + n_left))
                    print(f"{per_step:.2f}s/step: schedule now {total_steps} steps "
                          f"({total_steps / steps_per_epoch:.1f} epochs)", flush=True)
                mark = (now, step)
            if step % 50 == 0:
                print(f"step {step}/{total_steps} loss {loss.item():.4f} (feat {loss_f.item():.4f}, "
                      f"kd {loss_kd.item():.4f}, task {loss_task.item():.4f}) {time.time() - t_start:.0f}s", flush=True)
        epoch += 1
        r2 = evaluate(size)
        log.append({"epoch": epoch, "step": step, "held_out_r2": round(r2, 4), "seconds": round(time.time() - t_start)})
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
