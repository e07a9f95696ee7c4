"""Group-aware split, folder scanning and augmentations."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scalp_model.training.augment import Harmonise, RotateScale, training_augment
from scalp_model.serving.checkpoint import CLASS_NAMES
from scalp_model.training.data import ImageDataset, Sample, scan_dataset, split_by_group


def random_layout(rng: np.random.Generator) -> list[Sample]:
    samples = []
    for g in range(int(rng.integers(3, 60))):
        label = int(rng.random() < 0.35)
        for k in range(int(rng.integers(1, 5))):
            samples.append(Sample(f"{CLASS_NAMES[label]}/g{g}_{k}.jpg", label, f"g{g}", "x"))
    return samples


@pytest.mark.parametrize("seed", range(200))
def test_split_never_puts_a_group_on_two_sides(seed: int) -> None:
    rng = np.random.default_rng(seed)
    samples = random_layout(rng)
    split = split_by_group(samples, (0.8, 0.1, 0.1), seed=seed)
    side = {f: name for name, files in split.items() for f in files}
    assert sorted(side) == sorted(s.file for s in samples)  # every file exactly once
    by_group: dict[str, set] = {}
    for s in samples:
        by_group.setdefault(s.group, set()).add(side[s.file])
    assert all(len(v) == 1 for v in by_group.values())
    for label in (0, 1):  # training always keeps each class that exists
        if any(s.label == label for s in samples):
            assert any(s.label == label and side[s.file] == "train" for s in samples)


def test_split_is_reproducible_and_roughly_proportional() -> None:
    samples = [Sample(f"{CLASS_NAMES[i % 2]}/{i}.jpg", i % 2, f"g{i // 2}") for i in range(400)]
    a, b = split_by_group(samples, seed=7), split_by_group(samples, seed=7)
    assert a == b
    assert split_by_group(samples, seed=8) != a
    assert 30 <= len(a["test"]) <= 50 and 30 <= len(a["val"]) <= 50


def test_scan_reads_groups_csv_with_extra_columns(tmp_path: Path) -> None:
    for name in CLASS_NAMES:
        (tmp_path / name).mkdir()
        for i in range(2):
            Image.new("RGB", (64, 64), (i * 50, 80, 90)).save(tmp_path / name / f"{i}.jpg")
    (tmp_path / CLASS_NAMES[0] / "notes.txt").write_text("not an image")
    with open(tmp_path / "groups.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "label", "group", "source", "width", "height", "note"])
        w.writerow([f"{CLASS_NAMES[0]}/0.jpg", CLASS_NAMES[0], "A", "dermnet_thumb", 64, 64, "x"])
        w.writerow([f"{CLASS_NAMES[0]}/1.jpg", CLASS_NAMES[0], "A", "dermnet_720", 64, 64, "x"])
    samples = scan_dataset(tmp_path, CLASS_NAMES)
    assert len(samples) == 4
    assert {s.group for s in samples if s.label == 0} == {"A"}
    assert {s.source for s in samples if s.label == 0} == {"dermnet_thumb", "dermnet_720"}
    assert {s.source for s in samples if s.label == 1} == {"unknown"}
    ds = ImageDataset(tmp_path, samples, size=224, mean=(0.5,) * 3, std=(0.25,) * 3,
                      augment=training_augment(), seed=1)
    x, y = ds[0]
    assert tuple(x.shape) == (3, 224, 224) and y == 0
    assert np.allclose(ds[0][0].numpy(), x.numpy())  # same seed, epoch and index: same augmentation


def test_scan_names_missing_class_folder(tmp_path: Path) -> None:
    (tmp_path / CLASS_NAMES[0]).mkdir()
    with pytest.raises(FileNotFoundError, match=CLASS_NAMES[1]):
        scan_dataset(tmp_path, CLASS_NAMES)


def test_augmentations_keep_size_and_harmonise_shrinks() -> None:
    img = Image.new("RGB", (720, 480), (200, 120, 100))
    rng = np.random.default_rng(0)
    assert RotateScale()(img, rng).size == (720, 480)
    small = Harmonise(p=1.0, footer_p=0.0)(img, rng)
    assert max(small.size) <= 320
    with pytest.raises(ValueError):
        RotateScale(scale=(2.0, 1.0))
