"""Which teacher? Frozen-feature probes of EfficientNet-Lite0/1/2 (and their concatenation) under group k-fold CV.

``python -m scalp_model.training.teacher_study ../shared/data/scalp --out study.json`` extracts each teacher's
pooled features of every scalp photo (the whole photo remapped to ``size×size`` as the app does, averaged
with its mirror image), then cross-validates a linear probe (:mod:`scalp_model.training.crossval`).
The table it prints goes into the model card; the distillation teacher is the best row at the size the
distillation feeds its teacher.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..checkpoint import CLASS_NAMES
from ..data import load_image, scan_dataset
from .crossval import cross_validate
from .teachers import TEACHER_NAMES, OnnxTeacher
from .views import whole_views


def scalp_features(teacher: OnnxTeacher, images: torch.Tensor, size: int) -> np.ndarray:
    """Pooled features (N×1280) of uint8 N×3×S×S images at ``size``, averaged with the mirror image."""
    out = []
    for i in range(0, len(images), 32):
        x = whole_views(images[i:i + 32], size)
        out.append(((teacher.outputs(x)[0] + teacher.outputs(x.flip(3))[0]) / 2).numpy())
    return np.concatenate(out)


def load_scalp(data_dir: Path, size: int = 320):
    samples = scan_dataset(data_dir, CLASS_NAMES)
    arrays = [np.asarray(load_image(data_dir, s.file).resize((size, size)), dtype=np.uint8) for s in samples]
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    positive = CLASS_NAMES.index("psoriasis")
    labels = np.asarray([int(s.label == positive) for s in samples])
    return samples, images, labels


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m scalp_model.training.teacher_study", description=__doc__.splitlines()[0])
    p.add_argument("scalp_dir", type=Path)
    p.add_argument("--sizes", type=int, nargs="+", default=[160, 224])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--c", type=float, default=0.1, help="inverse L2 strength of the probe (fixed, not tuned)")
    p.add_argument("--out", type=Path, help="write the table as JSON here")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    samples, images, labels = load_scalp(args.scalp_dir)
    groups = [s.group for s in samples]
    sources = [s.source for s in samples]
    rows = []
    for size in args.sizes:
        feats = {}
        for name in TEACHER_NAMES:
            feats[name] = scalp_features(OnnxTeacher(name), images, size)
        feats["lite0+lite1+lite2"] = np.hstack([feats[n] for n in TEACHER_NAMES])
        for name, f in feats.items():
            r = cross_validate(f, labels, groups, sources, seeds=args.seeds, c=args.c).to_dict()
            rows.append({"teacher": name, "size": size, **r})
            print(f"{name:>18} @{size}: AUC {r['auc_mean']:.3f} (seed-0 CI {r['auc_ci_first_seed']}), "
                  f"dermnet_thumb vs dermnet_thumb {r['same_source_auc_mean']} (n={r['n_same_source']})", flush=True)
    if args.out:
        args.out.write_text(json.dumps({"seeds": args.seeds, "folds": 5, "probe_c": args.c, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
