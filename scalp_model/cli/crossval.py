"""``python -m scalp_model crossval DATA_DIR``: group k-fold cross-validation of the shipped recipe.

The recipe is a linear probe (standardised features, L2 logistic regression, balanced; C from ``--probe-c``,
by default the one a checkpoint's card records, else 0.1) on a frozen network's pooled features, with Platt
scaling and threshold fitted inside each training fold
(:func:`scalp_model.training.crossval.recipe_out_of_fold`). The network is a checkpoint's trunk, GoogLeNet or
EfficientNet-Lite0 (``--weights``, default the shipped one), a GoogLeNet trunk file (``--init``, e.g. a distilled student) or an
EfficientNet-Lite teacher (``--teacher``). These are the figures in the model card's cross-validation table.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..settings import DEFAULT_WEIGHTS

    parser.add_argument("data_dir", type=Path, help="labelled scalp folder with groups.csv")
    src = parser.add_mutually_exclusive_group()
    src.add_argument("--weights", type=Path, default=None, help=f"checkpoint (default {DEFAULT_WEIGHTS})")
    src.add_argument("--init", type=Path, default=None, help="a GoogLeNet trunk state dict (.pth), e.g. a distilled student")
    src.add_argument("--teacher", choices=("lite0", "lite1", "lite2"), default=None, help="an EfficientNet-Lite teacher")
    parser.add_argument("--size", type=int, default=224, help="input side (default 224, the app's)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--target-sensitivity", type=float, default=0.95)
    parser.add_argument("--probe-c", type=float, nargs="+", default=None, metavar="C",
                        help="inverse L2 strength of the probe; several values give one report each (default: the "
                             "checkpoint card's recorded value for --weights, else 0.1)")
    parser.add_argument("--split-seed", type=int, default=0,
                        help="for --init/--teacher: the seed of the group split whose validation and test photos form "
                             "the 'unseen' subset (default 0, the distillation's); --weights uses its recorded split")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def main(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from ..serving.architectures import get_architecture
    from ..serving.checkpoint import ModelMeta, load_checkpoint
    from ..training.data import split_by_group
    from ..serving.network import build_scalpnet
    from ..settings import DEFAULT_WEIGHTS
    from ..training.crossval import recipe_report
    from ..training.features import googlenet_features, scalp_set, teacher_features

    torch.set_num_threads(2)
    try:
        samples, images, labels = scalp_set(args.data_dir)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    recorded_c = 0.1
    if args.teacher or args.init:
        train_files = set(split_by_group(samples, (0.8, 0.1, 0.1), seed=args.split_seed)["train"])
    if args.teacher:
        what = f"EfficientNet-{args.teacher} (ImageNet, frozen) at {args.size} px"
        feats = teacher_features(args.teacher, images, args.size)
    elif args.init:
        net, transform_input = build_scalpnet(init=str(args.init))
        what = f"GoogLeNet trunk {args.init.name} at {args.size} px"
        feats = googlenet_features(net, images, ModelMeta(input_size=args.size, transform_input=transform_input))
    else:
        path = args.weights or DEFAULT_WEIGHTS
        ckpt = load_checkpoint(path)
        label = get_architecture(ckpt.meta.architecture).label
        what = f"{label} trunk of {Path(path).name} ({ckpt.meta.version}) at {args.size} px"
        meta = ModelMeta(**{**ckpt.meta.__dict__, "input_size": args.size})
        feats = googlenet_features(ckpt.model, images, meta)
        train_files = set((ckpt.meta.training or {}).get("split", {}).get("train", []))
        recorded_c = (ckpt.meta.metrics or {}).get("cross_validation", {}).get("probe_c", recorded_c)
    unseen = np.asarray([s.file not in train_files for s in samples]) if train_files else None
    reports = []
    for c in args.probe_c or [recorded_c]:
        report = recipe_report(feats, labels, [s.group for s in samples], [s.source for s in samples],
                               seeds=args.seeds, folds=args.folds, target_sensitivity=args.target_sensitivity,
                               unseen=unseen, c=c)
        report["features"] = what
        reports.append(report)
    if args.json:
        print(json.dumps(reports[0] if len(reports) == 1 else reports, indent=1))
        return 0
    for report in reports:
        print_report(report, what, args)
    return 0


def print_report(report: dict, what: str, args: argparse.Namespace) -> None:
    """One report as text: the mean over seeds per subset, the first seed's AUC with its CI."""
    print(f"{what}: linear probe (C={report['probe_c']}), {args.folds}-fold group CV x {len(args.seeds)} seeds, "
          f"Platt scaling and threshold for sensitivity >= {args.target_sensitivity} fitted inside each training fold")
    for name, m in report["mean"].items():
        first = report["per_seed"][0][name]
        print(f"  {name:>11}: AUC {m['auc']:.3f} (seed {args.seeds[0]}: {first['auc']:.3f} {first['auc_ci']}), "
              f"sensitivity {m['sensitivity']:.3f}, specificity {m['specificity']:.3f}, ECE {m['ece']:.3f}  (n={first['n']})")
