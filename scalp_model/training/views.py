"""Consistent augmented views for distillation: one corpus tensor, one batched affine warp.

Every image of the corpus is remapped whole to ``S×S`` once (as the app remaps a photo to 224×224) and kept
in memory as uint8. A batch of views is then drawn with a single ``affine_grid``/``grid_sample``: random
resized crop (area and aspect), rotation, horizontal flip, colour jitter and mixup between images, all
from a seeded ``torch.Generator``. The teacher sees the view at ``teacher_size`` and the student sees the
*same* view resampled to its own size — "consistent teaching" after Beyer et al., *Knowledge
distillation: A good teacher is patient and consistent* (CVPR 2022).
"""
from __future__ import annotations

import math

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from ..serving.checkpoint import CLASS_NAMES, POSITIVE_CLASS
from .data import scan_dataset, split_by_group
from ..serving.preprocess import ACCEPTED_EXTENSIONS


@dataclass
class Corpus:
    """``images``: uint8 N×3×S×S; ``kinds``: source folder per image; ``scalp_labels``: 1 psoriasis,
    0 seborrheic dermatitis, -1 not a labelled scalp image; ``skipped``: unreadable files, by name."""

    images: torch.Tensor
    kinds: list[str]
    files: list[str]
    scalp_labels: np.ndarray
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.files)


def is_visible_image(path: Path) -> bool:
    """A picture file by extension, not hidden (``.*``, macOS ``._*`` resource forks) and not in a hidden folder."""
    return (path.is_file() and path.suffix.lower().lstrip(".") in ACCEPTED_EXTENSIONS
            and not any(part.startswith(".") for part in path.parts[-2:]))


def folder_images(root: Path) -> list[Path]:
    """Every visible picture under ``root``, sorted (stable across machines)."""
    return sorted(p for p in Path(root).rglob("*") if is_visible_image(p))


def load_square(path: Path, size: int) -> np.ndarray:
    """The whole picture remapped to ``size×size`` RGB uint8 (H×W×3); JPEGs decoded at a reduced DCT scale."""
    with Image.open(path) as img:
        img.draft("RGB", (size, size))
        img = ImageOps.exif_transpose(img).convert("RGB")
        return np.asarray(img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0), dtype=np.uint8)


def build_corpus(scalp_dir: Path, extra_dirs: Sequence[Path], *, size: int = 192, split_seed: int = 0,
                 fractions: tuple[float, float, float] = (0.8, 0.1, 0.1), log=print) -> tuple[Corpus, dict]:
    """Scalp **training split** images (labelled; validation and test are never loaded) plus every visible
    picture of ``extra_dirs`` (labels unused). Unreadable files are named in ``skipped`` and left out.

    Returns the corpus and the scalp split (``{"train": [...], "val": [...], "test": [...]}``), identical to
    ``python -m scalp_model train --seed split_seed``'s split.
    """
    samples = scan_dataset(scalp_dir, CLASS_NAMES)
    split = split_by_group(samples, fractions, seed=split_seed)
    entries: list[tuple[Path, str, int]] = [
        (Path(scalp_dir) / f, "scalp", int(f.split("/")[0] == POSITIVE_CLASS)) for f in split["train"]]
    for d in extra_dirs:
        entries += [(p, Path(d).name, -1) for p in folder_images(Path(d))]
    arrays, kinds, files, labels, skipped = [], [], [], [], []
    for i, (path, kind, label) in enumerate(entries):
        try:
            arrays.append(load_square(path, size))
        except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
            skipped.append(f"{path}: {exc}")
            continue
        kinds.append(kind)
        files.append(str(path))
        labels.append(label)
        if i % 2000 == 0:
            log(f"corpus: {i}/{len(entries)} pictures decoded")
    if skipped:
        log(f"corpus: skipped {len(skipped)} unreadable file(s), e.g. {skipped[0]}")
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    return Corpus(images, kinds, files, np.asarray(labels, dtype=np.int8), skipped), split


@dataclass(frozen=True)
class ViewPolicy:
    """Ranges of the random view. ``area``: share of the square kept by the crop; ``aspect``: crop w/h;
    ``rotate``: degrees either way; ``jitter``: brightness/contrast/saturation ± share;
    ``mixup_p``: share of views blended with another image of the batch (weight uniform in [0, 1]);
    ``flip``: mirror half of the views."""

    area: tuple[float, float] = (0.25, 1.0)
    aspect: tuple[float, float] = (3 / 4, 4 / 3)
    rotate: float = 90.0
    jitter: float = 0.25
    mixup_p: float = 0.5
    flip: bool = True


def _uniform(n: int, low: float, high: float, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=gen) * (high - low) + low


def affine_params(n: int, policy: ViewPolicy, gen: torch.Generator) -> torch.Tensor:
    """N×2×3 matrices for ``F.affine_grid`` (output → input coordinates in [-1, 1])."""
    area = _uniform(n, *policy.area, gen)
    log_aspect = _uniform(n, math.log(policy.aspect[0]), math.log(policy.aspect[1]), gen)
    cx = (area.sqrt() * (log_aspect / 2).exp()).clamp(max=1.0)
    cy = (area.sqrt() / (log_aspect / 2).exp()).clamp(max=1.0)
    angle = _uniform(n, -policy.rotate, policy.rotate, gen) * math.pi / 180
    flip = torch.where(torch.rand(n, generator=gen) < (0.5 if policy.flip else 0.0), -1.0, 1.0)
    tx = _uniform(n, -1, 1, gen) * (1 - cx)
    ty = _uniform(n, -1, 1, gen) * (1 - cy)
    cos, sin = angle.cos(), angle.sin()
    theta = torch.empty(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 0, 2] = cos * cx * flip, -sin * cy, tx
    theta[:, 1, 0], theta[:, 1, 1], theta[:, 1, 2] = sin * cx * flip, cos * cy, ty
    return theta


def colour_jitter(x: torch.Tensor, strength: float, gen: torch.Generator) -> torch.Tensor:
    """Per-view brightness, contrast and saturation in [1 - strength, 1 + strength]; x in [0, 1], N×3×H×W."""
    if strength <= 0:
        return x
    n = x.shape[0]
    b, c, s = (_uniform(n, 1 - strength, 1 + strength, gen).view(n, 1, 1, 1) for _ in range(3))
    x = x * b
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * c + mean
    gray = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
    return ((x - gray) * s + gray).clamp_(0.0, 1.0)


def make_views(images_uint8: torch.Tensor, size: int, policy: ViewPolicy, gen: torch.Generator) -> torch.Tensor:
    """Random views of a batch: uint8 N×3×S×S → float N×3×size×size in [0, 1]."""
    x = images_uint8.float().div_(255.0)
    theta = affine_params(x.shape[0], policy, gen)
    grid = F.affine_grid(theta, [x.shape[0], 3, size, size], align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    x = colour_jitter(x, policy.jitter, gen)
    if policy.mixup_p > 0 and x.shape[0] > 1:
        n = x.shape[0]
        partner = torch.randperm(n, generator=gen)
        lam = torch.where(torch.rand(n, generator=gen) < policy.mixup_p, torch.rand(n, generator=gen), torch.ones(n))
        x = lam.view(n, 1, 1, 1) * x + (1 - lam.view(n, 1, 1, 1)) * x[partner]
    return x


def whole_views(images_uint8: torch.Tensor, size: int) -> torch.Tensor:
    """The un-augmented whole image at ``size`` (float in [0, 1]), as the app's remap would give."""
    x = images_uint8.float().div_(255.0)
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return x


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    """Resample views to ``size`` (antialiased when shrinking)."""
    if x.shape[-1] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


