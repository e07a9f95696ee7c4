"""What a patient-distillation run holds and does between steps (:mod:`scalp_model.training.patient_distill`).

The teacher's targets (feature mean/std and the scalp probe), the student's losses, the learning-rate
schedule, batch sampling, and :class:`Run`: the student, its EMA, the optimiser, the step and the log, saved
atomically, resumed from ``state.pt`` or the committed milestone, and advanced one step at a time.
"""
from __future__ import annotations

import argparse
import copy
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..serving.network import IMAGENET_MEAN, IMAGENET_STD
from .fm_student import FunctionMatchingStudent
from .teachers import OnnxTeacher
from .views import Corpus, ViewPolicy, make_views, resize

STATE = "state.pt"


def standardise(x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous(memory_format=torch.channels_last)


def teacher_targets(teacher: OnnxTeacher, corpus: Corpus, args: argparse.Namespace, policy: ViewPolicy,
                    gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Feature mean/std over random views, and the scalp probe (weights on standardised features, logit mean/std)."""
    from .crossval import probe_weights

    idx = torch.randint(len(corpus), (args.stats_views,), generator=gen)
    feats = torch.cat([teacher.outputs(make_views(corpus.images[idx[i:i + 128]], args.teacher_size, policy, gen))[0]
                       for i in range(0, len(idx), 128)])
    mean, std = feats.mean(0), feats.std(0) + 1e-3
    scalp = np.flatnonzero(corpus.scalp_labels >= 0)
    plain = ViewPolicy(area=policy.area, aspect=policy.aspect, rotate=policy.rotate, jitter=policy.jitter, mixup_p=0.0)
    xs, ys = [], []
    for _ in range(args.probe_views):
        for i in range(0, len(scalp), 128):
            part = torch.from_numpy(scalp[i:i + 128])
            xs.append(((teacher.outputs(make_views(corpus.images[part], args.teacher_size, plain, gen))[0] - mean) / std).numpy())
            ys.append(corpus.scalp_labels[part.numpy()])
    x, y = np.concatenate(xs), np.concatenate(ys)
    w, b = probe_weights(x, y, args.probe_c)  # one linear map on the standardised teacher features
    z = x @ w + b
    return {"feat_mean": mean, "feat_std": std, "probe_w": torch.from_numpy(w).float(),
            "probe_b": torch.tensor(float(b)), "task_mean": torch.tensor(float(z.mean())),
            "task_std": torch.tensor(float(z.std()))}


def targets_for(teacher: OnnxTeacher, views: torch.Tensor, t: dict[str, torch.Tensor]):
    feats, logits = teacher.outputs(views)
    f = (feats - t["feat_mean"]) / t["feat_std"]
    task = (f @ t["probe_w"] + t["probe_b"] - t["task_mean"]) / t["task_std"]
    return f, logits, task


def losses(student, x_student: torch.Tensor, f_t: torch.Tensor, l_t: torch.Tensor, task_t: torch.Tensor,
           args: argparse.Namespace) -> dict[str, torch.Tensor]:
    f_s, l_s, task_s = student(x_student)
    t = args.kd_temperature
    parts = {"feat": F.mse_loss(f_s, f_t),
             "kd": F.kl_div(F.log_softmax(l_s / t, 1), F.log_softmax(l_t / t, 1), log_target=True,
                            reduction="batchmean") * t * t,
             "task": F.mse_loss(task_s, task_t)}
    parts["loss"] = parts["feat"] + args.kd_weight * parts["kd"] + args.task_weight * parts["task"]
    return parts


def lr_at(step: int, args: argparse.Namespace) -> float:
    """Warm-up, then constant ("warm-up / stable / decay"): the run can be extended at will; a decay stage
    (``--decay-steps`` from ``--decay-start``) is added when the run is to end."""
    lr = args.lr * min(1.0, (step + 1) / args.warmup)
    if args.decay_start is not None and step >= args.decay_start:
        done = min(1.0, (step - args.decay_start) / max(1, args.decay_steps))
        lr *= 0.5 * (1 + math.cos(math.pi * done))
    return lr


def sample_batch(corpus_train: np.ndarray, scalp: np.ndarray, args: argparse.Namespace,
                 gen: torch.Generator) -> torch.Tensor:
    n_scalp = int(round(args.batch_size * args.scalp_share))
    a = torch.from_numpy(corpus_train)[torch.randint(len(corpus_train), (args.batch_size - n_scalp,), generator=gen)]
    b = torch.from_numpy(scalp)[torch.randint(len(scalp), (n_scalp,), generator=gen)]
    return torch.cat([a, b])


def _atomic_save(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def _half(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.half() if v.is_floating_point() else v for k, v in state.items()}


class Run:
    """Everything a distillation run holds between steps, and how it is saved, resumed and measured."""

    def __init__(self, args: argparse.Namespace, log=print) -> None:
        self.args, self.say = args, log
        self.run_dir = Path(args.run_dir)
        self.gen = torch.Generator().manual_seed(args.seed)
        self.policy = ViewPolicy(area=tuple(args.area), rotate=args.rotate, jitter=args.jitter, mixup_p=args.mixup)
        torch.manual_seed(args.seed)  # the student's initial weights
        self.student = FunctionMatchingStudent().to(memory_format=torch.channels_last)
        self.ema = copy.deepcopy(self.student).eval()
        self.opt = torch.optim.AdamW(self.student.parameters(), lr=args.lr, weight_decay=args.weight_decay)
        self.step, self.seconds, self.log, self.targets = 0, 0.0, [], None

    # --- state -------------------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {"format": "scalpscope-distill/1", "args": vars(self.args), "step": self.step, "seconds": self.seconds,
                "student": self.student.state_dict(), "ema": self.ema.state_dict(), "opt": self.opt.state_dict(),
                "gen": self.gen.get_state(), "targets": self.targets, "log": self.log}

    def save(self) -> None:
        _atomic_save(self.state(), self.run_dir / STATE)

    def save_milestone(self) -> Path | None:
        """EMA student (fp16), targets, step and log: small enough to commit, enough to resume on a new machine."""
        if not self.args.milestone:
            return None
        path = Path(self.args.milestone)
        _atomic_save({"format": "scalpscope-distill-milestone/1", "args": vars(self.args), "step": self.step,
                      "seconds": self.seconds, "ema": _half(self.ema.state_dict()), "targets": self.targets,
                      "log": self.log}, path)
        return path

    def restore(self) -> str:
        """Resume from ``state.pt``, else from the milestone file, else start fresh; says which."""
        full = self.run_dir / STATE
        if full.is_file():
            s = torch.load(full, map_location="cpu", weights_only=False)
            self.student.load_state_dict(s["student"])
            self.ema.load_state_dict(s["ema"])
            self.opt.load_state_dict(s["opt"])
            self.gen.set_state(s["gen"])
            self.step, self.seconds, self.targets, self.log = s["step"], s["seconds"], s["targets"], s["log"]
            return f"resumed {full} at step {self.step}"
        milestone = Path(self.args.milestone) if self.args.milestone else None
        if milestone and milestone.is_file():
            s = torch.load(milestone, map_location="cpu", weights_only=False)
            weights = {k: v.float() if v.is_floating_point() else v for k, v in s["ema"].items()}
            self.student.load_state_dict(weights)
            self.ema.load_state_dict(weights)
            self.step, self.seconds, self.targets, self.log = s["step"], s["seconds"], s["targets"], s["log"]
            self.gen.manual_seed(self.args.seed + self.step)
            return f"resumed from milestone {milestone} at step {self.step} (fresh optimiser moments)"
        return "started a new run"

    # --- training ----------------------------------------------------------------------------------------
    def train_step(self, teacher, corpus: Corpus, pool: np.ndarray, scalp: np.ndarray) -> dict[str, float]:
        args = self.args
        idx = sample_batch(pool, scalp, args, self.gen)
        views = make_views(corpus.images[idx], args.teacher_size, self.policy, self.gen)
        f_t, l_t, task_t = targets_for(teacher, views, self.targets)
        for g in self.opt.param_groups:
            g["lr"] = lr_at(self.step, args)
        parts = losses(self.student, standardise(resize(views, args.student_size)), f_t, l_t, task_t, args)
        self.opt.zero_grad(set_to_none=True)
        parts["loss"].backward()
        self.opt.step()
        with torch.no_grad():
            decay = min(args.ema, (1 + self.step) / (10 + self.step))
            for e, p in zip(self.ema.state_dict().values(), self.student.state_dict().values()):
                if e.is_floating_point():
                    e.mul_(decay).add_(p.detach(), alpha=1 - decay)
                else:
                    e.copy_(p)
        self.step += 1
        return {k: v.item() for k, v in parts.items()}


def split_pool(corpus: Corpus, held_share: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices: training pool of unlabelled pictures, held-back pictures (never trained on), scalp training photos."""
    rng = np.random.default_rng(seed)
    other = np.flatnonzero(corpus.scalp_labels < 0)
    n_held = max(int(held_share * len(other)), min(64, len(other) // 4))
    held = np.sort(rng.choice(other, size=n_held, replace=False))
    pool = np.setdiff1d(other, held)
    return pool, held, np.flatnonzero(corpus.scalp_labels >= 0)
