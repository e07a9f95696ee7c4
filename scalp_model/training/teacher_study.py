"""Which teacher? EfficientNet-Lite0/1/2 (and their concatenation) as frozen-feature probes under group k-fold CV.

``python -m scalp_model.training.teacher_study ../shared/data/scalp --out-dir DIR`` extracts each teacher's
pooled features of every scalp photo (the whole photo remapped to ``size×size``, as the app does) and
cross-validates the shipped recipe on them (:func:`scalp_model.training.crossval.recipe_report`: linear
probe, calibration inside each training fold). It prints the table and writes one ``crossval --json``-style
report per row to ``DIR`` (``train --cv-reference NAME=FILE`` lists them in the model card). The distillation
teacher is the best single teacher at the size the distillation feeds it.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from .data import split_by_group
from .crossval import recipe_report
from .features import scalp_set, teacher_features
from .teachers import TEACHER_NAMES


def load_scalp(data_dir: Path, size: int = 320):
    """Samples, uint8 N×3×size×size photos (whole photo remapped) and labels, for the distillation monitor."""
    samples, images, labels = scalp_set(Path(data_dir))
    arrays = [np.asarray(im.resize((size, size)), dtype=np.uint8) for im in images]
    return samples, torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous(), labels


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scalp_model.training.teacher_study", description=__doc__.splitlines()[0])
    p.add_argument("scalp_dir", type=Path)
    p.add_argument("--sizes", type=int, nargs="+", default=[160, 224])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--probe-c", type=float, default=0.1, help="inverse L2 strength of the probe (default 0.1)")
    p.add_argument("--out-dir", type=Path, help="write one JSON report per row here")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    samples, images, labels = scalp_set(args.scalp_dir)
    groups, sources = [s.group for s in samples], [s.source for s in samples]
    train_files = set(split_by_group(samples, (0.8, 0.1, 0.1), seed=0)["train"])
    unseen = np.asarray([s.file not in train_files for s in samples])  # the same photos as every other row's
    if args.out_dir:
        args.out_dir.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        feats = {name: teacher_features(name, images, size) for name in TEACHER_NAMES}
        feats["+".join(TEACHER_NAMES)] = np.hstack([feats[n] for n in TEACHER_NAMES])
        for name, f in feats.items():
            report = recipe_report(f, labels, groups, sources, seeds=args.seeds, unseen=unseen, c=args.probe_c)
            report["features"] = f"EfficientNet-{name} (ImageNet, frozen) at {size} px"
            o, s = report["mean"]["overall"], report["mean"].get("same_source", {})
            print(f"{name:>17} @{size}: AUC {o['auc']:.3f} (seed-0 CI {report['per_seed'][0]['overall']['auc_ci']}), "
                  f"sensitivity {o['sensitivity']:.3f}, specificity {o['specificity']:.3f}, ECE {o['ece']:.3f}; "
                  f"dermnet_thumb vs dermnet_thumb AUC {s.get('auc')}", flush=True)
            if args.out_dir:
                (args.out_dir / f"teacher-{name}-{size}.json").write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
