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

import json
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from .distill_run import (STATE, Run, losses, lr_at, sample_batch, split_pool, standardise, targets_for,
                          teacher_targets)
from .distill_settings import RUNTIME_KEYS, STAGE_KEYS, merge_saved, parse_args, type_of
from .fm_student import save_trunk
from .teachers import OnnxTeacher
from .views import Corpus, build_corpus

__all__ = ["STATE", "STAGE_KEYS", "RUNTIME_KEYS", "Run", "losses", "lr_at", "main", "merge_saved", "parse_args",
           "sample_batch", "split_pool", "standardise", "targets_for", "teacher_targets", "type_of"]


def say(msg: str) -> None:
    """A time-stamped line above the progress bar."""
    from tqdm import tqdm

    tqdm.write(f"[{time.strftime('%H:%M:%S')}] {msg}")


@dataclass
class Material:
    """What the steps and the measures draw on: the corpus and its split, the teacher, the held-back views and
    the scalp photos for the student's probe."""

    corpus: Corpus
    pool: np.ndarray
    scalp: np.ndarray
    teacher: OnnxTeacher
    held_back: Any
    scalp_all: torch.Tensor
    labels: np.ndarray
    groups: list
    sources: list


def prepare(run: Run, args) -> Material:
    """Load the corpus (scalp training split + label-free pictures), start the teacher, fit its targets on a
    new run, and fix the held-back views."""
    from .distill_monitor import HeldBack
    from .teacher_study import load_scalp

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
    return Material(corpus, pool, scalp, teacher, held_back, scalp_all, labels,
                    [s.group for s in samples], [s.source for s in samples])


class Journal:
    """The run's measures: appended to its log (saved with it) and to ``RUN_DIR/log.jsonl``."""

    def __init__(self, run: Run, material: Material | None = None) -> None:
        self.run, self.material = run, material
        self.path = run.run_dir / "log.jsonl"

    def record(self, entry: dict) -> None:
        self.run.log.append(entry)
        with open(self.path, "a") as fh:
            fh.write(json.dumps(entry) + "\n")

    def evaluate(self) -> None:
        """Held-back measures of the EMA student and its own cross-validated linear probe on the scalp set."""
        from .distill_monitor import student_probe_cv

        run, m = self.run, self.material
        entry = {"step": run.step, "hours": round(run.seconds / 3600, 3), "kind": "eval",
                 **m.held_back.measure(run.ema, run.args.student_size)}
        probes = student_probe_cv(run.ema, m.scalp_all, m.labels, m.groups, m.sources)
        entry.update({k: {"auc": v["auc_mean"], "same_source": v["same_source_auc_mean"]} for k, v in probes.items()})
        self.record(entry)
        say(json.dumps(entry))

    def averages(self, sums: dict[str, float]) -> dict[str, Any]:
        """The training entry of the last steps: their mean losses (``sums`` holds their sums and ``n``)."""
        run, args, n = self.run, self.run.args, sums["n"]
        return {"step": run.step, "hours": round(run.seconds / 3600, 3), "kind": "train", "lr": lr_at(run.step, args),
                "epochs": round(run.step * args.batch_size / len(self.material.pool), 2),
                "steps_averaged": int(sums.pop("n")), **{k: round(v / n, 4) for k, v in sums.items()}}


def stop_on_signals() -> dict[str, bool]:
    """A flag that SIGTERM and SIGINT set: the loop finishes its step, saves and exits."""
    stop = {"now": False}

    def on_signal(signum, frame) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def save_when_due(run: Run, marks: dict[str, float], tick: float) -> None:
    """``state.pt`` every ``--save-minutes``, the milestone every ``--milestone-minutes``."""
    args = run.args
    if tick - marks["save"] > args.save_minutes * 60:
        run.save()
        marks["save"] = tick
    if tick - marks["milestone"] > args.milestone_minutes * 60:
        say(f"milestone {run.save_milestone()} at step {run.step}")
        marks["milestone"] = tick


def train(run: Run, material: Material, journal: Journal) -> None:
    """Steps until ``--minutes``, ``--max-steps`` or a signal; measures every ``--eval-minutes`` (at once on a
    new run) and a training entry every 100 steps."""
    from tqdm import tqdm

    args, stop = run.args, stop_on_signals()
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
            journal.evaluate()
            marks["eval"] = time.time()
        parts = run.train_step(material.teacher, material.corpus, material.pool, material.scalp)
        tick = time.time()
        run.seconds += tick - last
        last = tick
        for k, v in {**parts, "n": 1.0}.items():
            sums[k] = sums.get(k, 0.0) + v
        bar.update(1)
        if run.step % 100 == 0:
            entry = journal.averages(sums)
            journal.record(entry)
            bar.set_postfix(loss=entry["loss"], feat=entry["feat"], task=entry["task"])
            sums = {}
        save_when_due(run, marks, tick)
    bar.close()


def finish(run: Run) -> None:
    """Save the full state (and the milestone, when there is one) after the last step."""
    run.save()
    if run.args.milestone:
        say(f"milestone {run.save_milestone()} at step {run.step}")
    say(f"saved {run.run_dir / STATE} at step {run.step} ({run.seconds / 3600:.2f} h of training)")


def main(argv: Sequence[str] | None = None) -> int:
    args = merge_saved(parse_args(argv))
    torch.set_num_threads(args.threads)
    Path(args.run_dir).mkdir(parents=True, exist_ok=True)
    run = Run(args, say)
    say(run.restore())
    if args.export:  # no corpus, no teacher: just the EMA student's trunk
        save_trunk(run.ema, Path(args.export))
        say(f"wrote the EMA student's trunk to {args.export} (step {run.step}, {run.seconds / 3600:.2f} h of training)")
        return 0
    journal = Journal(run, prepare(run, args))
    if args.no_train:
        journal.evaluate()
        return 0
    train(run, journal.material, journal)
    finish(run)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
