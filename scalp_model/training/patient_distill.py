"""Patient, consistent distillation of an ImageNet EfficientNet-Lite into torchvision's GoogLeNet from scratch.

After Beyer et al., *Knowledge distillation: A good teacher is patient and consistent* (CVPR 2022): teacher
and student see the **same** augmented view (random resized crop, rotation, flip, colour jitter, mixup);
the student matches the teacher's pooled features (through a linear projector, MSE on standardised
features), its ImageNet logits (KL) and the teacher probe's scalp logit (MSE on the standardised logit of a
logistic regression fitted on the teacher's features of the scalp **training split**; the only labels used).
The teacher runs online (ONNX Runtime, ~6 ms a view at 224 px on 2 cores), so every view is new.

One command starts or resumes a run::

    nice -n 10 python -m scalp_model.training.patient_distill --run-dir training/runs/fm-lite1

The full state (student, EMA, optimiser, step, RNG, targets, log) is written atomically to
``RUN_DIR/state.pt`` every ``--save-minutes``; ``--milestone`` (committed to git at milestones) keeps the
EMA student in fp16 so that a new machine resumes from there when ``state.pt`` is gone. Progress goes to
``RUN_DIR/log.jsonl`` (training losses; held-back feature R², KL and scalp-logit agreement; the student's
own cross-validated linear-probe AUC on the scalp set) and to a progress bar on stderr.
"""
from __future__ import annotations

import argparse
import copy
import json
import math
import signal
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ..serving.network import IMAGENET_MEAN, IMAGENET_STD
from .fm_student import FunctionMatchingStudent, save_trunk
from .teachers import OnnxTeacher
from .views import Corpus, ViewPolicy, build_corpus, make_views, resize

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


STAGE_KEYS = ("student_size", "decay_start", "decay_steps", "lr", "scalp_share", "mixup")
RUNTIME_KEYS = ("minutes", "max_steps", "threads", "save_minutes", "eval_minutes", "milestone_minutes", "export",
                "no_train")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m scalp_model.training.patient_distill",
                                description=__doc__.splitlines()[0])
    p.add_argument("--run-dir", required=True, help="folder of the run's state and log (kept out of git)")
    p.add_argument("--milestone", default=None, help="fp16 EMA student written every --milestone-minutes (commit it)")
    p.add_argument("--scalp-dir", default="../shared/data/scalp", help="scalp set; only its training split is used")
    p.add_argument("--extra", nargs="*", default=["../shared/data/unlabeled", "../shared/data/body",
                                                  "../shared/data/other_dermoscopy"], help="label-free picture folders")
    p.add_argument("--teacher", default="lite1", choices=("lite0", "lite1", "lite2"))
    p.add_argument("--teacher-size", type=int, default=224, help="side of the views the teacher sees")
    p.add_argument("--student-size", type=int, default=112, help="side the student sees the same view at")
    p.add_argument("--corpus-size", type=int, default=224, help="side of the whole-image squares kept in memory")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--scalp-share", type=float, default=0.125, help="share of each batch drawn from scalp training photos")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--decay-start", type=int, default=None, help="step where the final cosine decay starts")
    p.add_argument("--decay-steps", type=int, default=3000)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--ema", type=float, default=0.999)
    p.add_argument("--kd-weight", type=float, default=1.0)
    p.add_argument("--kd-temperature", type=float, default=1.0)
    p.add_argument("--task-weight", type=float, default=1.0)
    p.add_argument("--probe-c", type=float, default=0.1)
    p.add_argument("--probe-views", type=int, default=8, help="augmented views per scalp photo for the teacher probe")
    p.add_argument("--stats-views", type=int, default=2048, help="views for the teacher features' mean and std")
    p.add_argument("--area", type=float, nargs=2, default=(0.25, 1.0))
    p.add_argument("--rotate", type=float, default=90.0)
    p.add_argument("--jitter", type=float, default=0.25)
    p.add_argument("--mixup", type=float, default=0.5, help="share of views mixed with another picture")
    p.add_argument("--held-share", type=float, default=0.03)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split-seed", type=int, default=0, help="scalp split seed (train's --seed)")
    p.add_argument("--minutes", type=float, default=0, help="stop after this many minutes (0: until --max-steps)")
    p.add_argument("--max-steps", type=int, default=0, help="stop at this step (0: no limit)")
    p.add_argument("--threads", type=int, default=1,
                   help="CPU threads (default 1: on the 2-core machine with tests running beside it, two threads took "
                        "11-16 s a step and one thread 2.6 s; threads that wait on each other stall when another "
                        "process holds a core)")
    p.add_argument("--save-minutes", type=float, default=5)
    p.add_argument("--eval-minutes", type=float, default=30)
    p.add_argument("--milestone-minutes", type=float, default=60)
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                   help=f"change a stage setting of a resumed run: {', '.join(STAGE_KEYS)}")
    p.add_argument("--export", default=None, help="write the EMA student's GoogLeNet trunk (.pth for 'train --init') and stop")
    p.add_argument("--no-train", action="store_true", help="only measure (held-back views, student probe CV), no training")
    return p.parse_args(argv)


def merge_saved(args: argparse.Namespace) -> argparse.Namespace:
    """On resume, the saved settings win, except run-time options and explicit ``--set`` stage changes."""
    for source in (Path(args.run_dir) / STATE, Path(args.milestone) if args.milestone else None):
        if source and source.is_file():
            # mmap: only the settings are read here; restore() loads the tensors once
            saved = torch.load(source, map_location="cpu", weights_only=False, mmap=True)["args"]
            merged = {**vars(args), **saved}  # settings added since the run started keep their defaults
            for key in RUNTIME_KEYS + ("run_dir", "milestone", "set"):
                merged[key] = getattr(args, key)
            args = argparse.Namespace(**merged)
            break
    for item in args.set:
        key, _, value = item.partition("=")
        key = key.replace("-", "_")
        if key not in STAGE_KEYS:
            raise SystemExit(f"--set {item}: only {', '.join(STAGE_KEYS)} can change in a resumed run")
        setattr(args, key, None if value.lower() == "none" else type_of(key)(value))
    return args


def type_of(key: str):
    return int if key in ("student_size", "decay_start", "decay_steps") else float


def main(argv: Sequence[str] | None = None) -> int:
    from tqdm import tqdm

    from .distill_monitor import HeldBack, student_probe_cv
    from .teacher_study import load_scalp

    args = merge_saved(parse_args(argv))
    torch.set_num_threads(args.threads)
    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / "log.jsonl"

    def say(msg: str) -> None:
        tqdm.write(f"[{time.strftime('%H:%M:%S')}] {msg}")

    def record(entry: dict) -> None:
        run.log.append(entry)
        with open(log_path, "a") as fh:
            fh.write(json.dumps(entry) + "\n")

    run = Run(args, say)
    say(run.restore())
    if args.export:  # no corpus, no teacher: just the EMA student's trunk
        save_trunk(run.ema, Path(args.export))
        say(f"wrote the EMA student's trunk to {args.export} (step {run.step}, {run.seconds / 3600:.2f} h of training)")
        return 0
    corpus, split = build_corpus(Path(args.scalp_dir), [Path(d) for d in args.extra], size=args.corpus_size,
                                 split_seed=args.split_seed, log=say)
    pool, held, scalp = split_pool(corpus, args.held_share, args.seed)
    say(f"corpus: {len(pool)} training pictures, {len(held)} held back, {len(scalp)} scalp training photos "
        f"(validation and test photos never loaded)")
    teacher = OnnxTeacher(args.teacher, threads=args.threads)
    if run.targets is None:
        run.targets = teacher_targets(teacher, corpus, args, run.policy, torch.Generator().manual_seed(args.seed + 1))
    held_back = HeldBack(corpus.images[torch.from_numpy(held[:512])], teacher, run.targets, args.teacher_size, run.policy)
    samples, scalp_all, labels = load_scalp(Path(args.scalp_dir))
    groups, sources = [s.group for s in samples], [s.source for s in samples]

    def evaluate() -> None:
        entry = {"step": run.step, "hours": round(run.seconds / 3600, 3), "kind": "eval",
                 **held_back.measure(run.ema, args.student_size)}
        probes = student_probe_cv(run.ema, scalp_all, labels, groups, sources)
        entry.update({k: {"auc": v["auc_mean"], "same_source": v["same_source_auc_mean"]} for k, v in probes.items()})
        record(entry)
        say(json.dumps(entry))

    if args.no_train:
        evaluate()
        return 0

    stop = {"now": False}

    def on_signal(signum, frame) -> None:  # finish the step, save, exit
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    t0 = time.time()
    marks = {"save": t0, "eval": t0 if run.step else -1e9, "milestone": t0}
    sums: dict[str, float] = {}
    bar = tqdm(total=args.max_steps or None, initial=run.step, unit="step", mininterval=30, dynamic_ncols=True)
    last = time.time()
    while not stop["now"]:
        now = time.time()
        if args.minutes and now - t0 > args.minutes * 60 or args.max_steps and run.step >= args.max_steps:
            break
        if now - marks["eval"] > args.eval_minutes * 60:
            evaluate()
            marks["eval"] = time.time()
        parts = run.train_step(teacher, corpus, pool, scalp)
        tick = time.time()
        run.seconds += tick - last
        last = tick
        for k, v in {**parts, "n": 1.0}.items():
            sums[k] = sums.get(k, 0.0) + v
        bar.update(1)
        if run.step % 100 == 0:
            n = sums["n"]
            entry = {"step": run.step, "hours": round(run.seconds / 3600, 3), "kind": "train",
                     "lr": lr_at(run.step, args), "epochs": round(run.step * args.batch_size / len(pool), 2),
                     "steps_averaged": int(sums.pop("n")), **{k: round(v / n, 4) for k, v in sums.items()}}
            record(entry)
            bar.set_postfix(loss=entry["loss"], feat=entry["feat"], task=entry["task"])
            sums = {}
        if tick - marks["save"] > args.save_minutes * 60:
            run.save()
            marks["save"] = tick
        if tick - marks["milestone"] > args.milestone_minutes * 60:
            say(f"milestone {run.save_milestone()} at step {run.step}")
            marks["milestone"] = tick
    bar.close()
    run.save()
    if run.args.milestone:
        say(f"milestone {run.save_milestone()} at step {run.step}")
    say(f"saved {run_dir / STATE} at step {run.step} ({run.seconds / 3600:.2f} h of training)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
