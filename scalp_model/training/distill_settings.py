"""The command line of patient distillation, and how a resumed run merges it with its saved settings."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

import torch

from .distill_run import STATE

DESCRIPTION = "Patient, consistent distillation of an ImageNet EfficientNet-Lite into torchvision's GoogLeNet from scratch."


STAGE_KEYS = ("student_size", "decay_start", "decay_steps", "lr", "scalp_share", "mixup")
RUNTIME_KEYS = ("minutes", "max_steps", "threads", "save_minutes", "eval_minutes", "milestone_minutes", "export",
                "no_train")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The flags of ``python -m scalp_model.training.patient_distill``."""
    p = argparse.ArgumentParser(prog="python -m scalp_model.training.patient_distill",
                                description=DESCRIPTION)
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

