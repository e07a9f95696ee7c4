"""Labelled image folders, group-aware splits and the training dataset.

A data directory has one sub-folder per class (``psoriasis/``, ``seborrheic_dermatitis/``) and an
optional ``groups.csv`` (``file,group[,source]`` with ``file`` relative to the directory; extra columns
such as ``label``, ``width`` or ``note`` are ignored). Near-duplicates share a group, and a group never
straddles two splits.

Every command that reads a folder lists it with :func:`folder_images`: hidden and system files (``.*``,
macOS ``._*`` resource forks and ``__MACOSX/``, ``Thumbs.db``, ``desktop.ini``, ...) are left out, and a
file that cannot be read is named in a :class:`SkippedFiles` list instead of stopping the run.
"""
from __future__ import annotations

import csv
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from PIL import Image

from ..errors import InvalidImageError, ScalpScopeError
from ..serving.preprocess import ACCEPTED_EXTENSIONS, decode_image, model_input

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Sample:
    """One labelled image: path relative to the data directory, class index, group and source."""

    file: str
    label: int
    group: str
    source: str = "unknown"


SYSTEM_FILES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini", "icon\r"})
SYSTEM_FOLDERS = frozenset({"__macosx", "$recycle.bin", "system volume information", "@eadir", "lost+found"})


@dataclass(frozen=True)
class SkippedFile:
    """A file a folder command left out, and why (relative to the folder it read where possible)."""

    path: str
    reason: str


class SkippedFiles(list):
    """The files a folder run left out, in order; :meth:`summary` is the line commands print."""

    def add(self, path: Path | str, reason: str) -> None:
        self.append(SkippedFile(str(path), reason))

    def summary(self) -> str:
        """'skipped N files (…)' with every file and its reason, or '' when nothing was skipped."""
        if not self:
            return ""
        hidden = sum(1 for s in self if s.reason == HIDDEN)
        kinds = ", ".join(part for part in (f"{hidden} hidden or system" if hidden else "",
                                            f"{len(self) - hidden} unreadable" if len(self) > hidden else "") if part)
        lines = [f"skipped {len(self)} file{'s' if len(self) != 1 else ''} ({kinds}):"]
        lines += [f"  {s.path}: {s.reason}" for s in self]
        return "\n".join(lines)

    def to_list(self) -> list[dict[str, str]]:
        return [{"path": s.path, "reason": s.reason} for s in self]


HIDDEN = "hidden or system file"


class UnreadableImageError(InvalidImageError):
    """A file of a folder that cannot be decoded; the message names the file."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = str(path), reason


def is_hidden_or_system(path: Path, root: Path | None = None) -> bool:
    """True for ``.*`` files and folders (macOS ``._*`` resource forks, ``.DS_Store``), ``__MACOSX/`` and
    other system files and folders, judged on the parts of ``path`` below ``root``."""
    path = Path(path)
    parts = path.relative_to(root).parts if root is not None else path.parts[-1:]
    return (any(p.startswith(".") or p.lower() in SYSTEM_FOLDERS for p in parts)
            or (parts[-1].lower() in SYSTEM_FILES if parts else False))


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower().lstrip(".") in ACCEPTED_EXTENSIONS


def folder_images(root: Path | str, skipped: SkippedFiles | None = None) -> list[Path]:
    """Every picture file (by extension) under ``root``, sorted; hidden and system pictures left out and
    recorded in ``skipped``."""
    root = Path(root)
    out = []
    for path in sorted(root.rglob("*")):
        if not _is_image(path):
            continue
        if is_hidden_or_system(path, root):
            if skipped is not None:
                skipped.add(path, HIDDEN)
            continue
        out.append(path)
    return out


def read_groups(data_dir: Path) -> dict[str, dict[str, str]]:
    """``groups.csv`` as {file: {"group": ..., "source": ...}}; empty where there is no file."""
    path = Path(data_dir) / "groups.csv"
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"file", "group"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: needs columns file,group[,source]; missing {sorted(missing)}")
        return {row["file"].strip(): {"group": row["group"].strip(), "source": (row.get("source") or "unknown").strip()}
                for row in reader if row.get("file")}


def scan_dataset(data_dir: Path | str, class_names: Sequence[str], skipped: SkippedFiles | None = None
                 ) -> list[Sample]:
    """Every image under ``data_dir/<class>/``, labelled by folder, with its group and source.

    Hidden and system files are left out (and recorded in ``skipped``); files are not decoded here (see
    :func:`readable_samples`).
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(f"data directory {data_dir} does not exist")
    groups = read_groups(data_dir)
    samples: list[Sample] = []
    for label, name in enumerate(class_names):
        folder = data_dir / name
        if not folder.is_dir():
            raise FileNotFoundError(f"{data_dir} has no '{name}/' folder (expected one per class: {list(class_names)})")
        found = SkippedFiles()
        for path in folder_images(folder, found):
            rel = path.relative_to(data_dir).as_posix()
            info = groups.get(rel, {})
            samples.append(Sample(rel, label, info.get("group") or f"file:{rel}", info.get("source") or "unknown"))
        if skipped is not None:
            skipped += [SkippedFile(Path(s.path).relative_to(data_dir).as_posix(), s.reason) for s in found]
    if not samples:
        raise FileNotFoundError(f"no images found under {data_dir}/{{{','.join(class_names)}}}/")
    return samples


def split_by_group(samples: Sequence[Sample], fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
                   seed: int = 0) -> dict[str, list[str]]:
    """Split files into train/val/test by group, stratified by class, reproducibly for a seed.

    Each group goes to one split as a whole. Within each class (a group's class is its majority label)
    groups are shuffled and handed to test, then val, until each holds its share of that class's images;
    the rest is training. Every class with at least three groups gets one group in val and in test.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise ValueError(f"fractions must be three non-negative numbers, got {fractions}")
    total = float(sum(fractions))
    frac = {"train": fractions[0] / total, "val": fractions[1] / total, "test": fractions[2] / total}
    members: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        members[s.group].append(s)
    by_class: dict[int, list[str]] = defaultdict(list)
    for group, items in sorted(members.items()):
        labels = [s.label for s in items]
        by_class[max(set(labels), key=lambda c: (labels.count(c), -c))].append(group)
    rng = random.Random(seed)
    assignment: dict[str, str] = {}
    for label in sorted(by_class):
        groups = by_class[label]
        rng.shuffle(groups)
        n_images = sum(len(members[g]) for g in groups)
        queue = list(groups)
        for split in ("test", "val"):
            target = frac[split] * n_images
            taken = 0
            # Never empty the queue: training keeps at least one group of every class.
            while len(queue) > 1 and taken < target:
                if taken > 0 and taken + len(members[queue[0]]) > 1.5 * target + 1:
                    break  # one large group would overshoot the share by far
                g = queue.pop(0)
                assignment[g] = split
                taken += len(members[g])
            if taken == 0 and frac[split] > 0 and len(groups) >= 3 and len(queue) > 1:
                assignment[queue.pop(0)] = split
        for g in queue:
            assignment[g] = "train"
    out: dict[str, list[str]] = {k: [] for k in SPLITS}
    for s in samples:
        out[assignment[s.group]].append(s.file)
    return {k: sorted(v) for k, v in out.items()}


def select(samples: Iterable[Sample], files: Iterable[str]) -> list[Sample]:
    wanted = set(files)
    return [s for s in samples if s.file in wanted]


def load_image(data_dir: Path | str, file: str) -> Image.Image:
    """Decode a file exactly as the app decodes an upload; :class:`UnreadableImageError` names a bad file."""
    path = Path(data_dir) / file
    try:
        return decode_image(path.read_bytes()).image
    except ScalpScopeError as exc:
        raise UnreadableImageError(path, str(exc)) from exc
    except OSError as exc:
        raise UnreadableImageError(path, f"cannot read the file ({exc.strerror or exc})") from exc


def readable_samples(data_dir: Path | str, samples: Sequence[Sample], skipped: SkippedFiles
                     ) -> list[Sample]:
    """The samples whose files decode; the others are recorded in ``skipped`` with the reason."""
    out = []
    for s in samples:
        try:
            load_image(data_dir, s.file)
        except UnreadableImageError as exc:
            skipped.add(s.file, exc.reason)
            continue
        out.append(s)
    return out


class ImageDataset(torch.utils.data.Dataset):
    """Decoded images (kept in memory: the scalp set is small), augmented, then the model's input."""

    def __init__(self, data_dir: Path | str, samples: Sequence[Sample], *, size: int,
                 mean: Sequence[float], std: Sequence[float],
                 augment: Callable[[Image.Image, np.random.Generator], Image.Image] | None = None,
                 seed: int = 0) -> None:
        self.data_dir = Path(data_dir)
        self.samples = list(samples)
        self.size, self.mean, self.std = size, tuple(mean), tuple(std)
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        self._cache: dict[int, Image.Image] = {}

    def __len__(self) -> int:
        return len(self.samples)

    def image(self, index: int) -> Image.Image:
        if index not in self._cache:
            self._cache[index] = load_image(self.data_dir, self.samples[index].file)
        return self._cache[index]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        img = self.image(index)
        if self.augment is not None:
            # Seeded per (seed, epoch, index): identical augmentations whatever the worker layout.
            rng = np.random.default_rng([self.seed, self.epoch, index])
            img = self.augment(img, rng)
        x = model_input(img, self.size, self.mean, self.std)
        return torch.from_numpy(x), self.samples[index].label
