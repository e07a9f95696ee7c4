"""Folder commands on folders as people have them (issue 16, item 3): hidden and system files are left out,
an unreadable file is named and skipped, the run carries on and says how many it skipped."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from scalp_model.serving.checkpoint import CLASS_NAMES, ModelMeta
from scalp_model.training.data import (HIDDEN, SkippedFiles, UnreadableImageError, folder_images, is_hidden_or_system,
                                       load_image, readable_samples, scan_dataset)
from tests.factories import image_bytes, make_checkpoint
from tests.model.test_cli import run_cli
from tests.model.training.test_train import add_odd_files, make_toy_data

HIDDEN_NAMES = {"._IMG_200.jpg", "._00.png"}  # the odd files that look like pictures by their extension


@pytest.fixture(scope="module")
def odd_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = make_toy_data(tmp_path_factory.mktemp("odd") / "data", per_class=6)
    return root, add_odd_files(root)


def test_hidden_and_system_files_are_recognised() -> None:
    root = Path("/data")
    for rel in ("psoriasis/._IMG_200.jpg", "psoriasis/.DS_Store", ".hidden/a.jpg", "__MACOSX/psoriasis/a.jpg",
                "psoriasis/Thumbs.db", "x/desktop.ini", "@eaDir/a.jpg"):
        assert is_hidden_or_system(root / rel, root), rel
    for rel in ("psoriasis/IMG_200.JPG", "psoriasis/my.photo.jpg", "a_b/c.png"):
        assert not is_hidden_or_system(root / rel, root), rel
    assert not is_hidden_or_system(Path("/home/.me/data/psoriasis/a.jpg"), Path("/home/.me/data"))  # above root


def test_scan_leaves_out_hidden_files_and_names_them(odd_folder) -> None:
    root, broken = odd_folder
    skipped = SkippedFiles()
    samples = scan_dataset(root, CLASS_NAMES, skipped)
    files = {s.file for s in samples}
    assert len(samples) == 12 + len(broken) and set(broken) <= files
    assert not any(Path(f).name.startswith(".") or "__MACOSX" in f for f in files)
    assert sorted(Path(s.path).name for s in skipped) == sorted(list(HIDDEN_NAMES) * len(CLASS_NAMES))
    assert all(s.reason == HIDDEN for s in skipped)
    readable = readable_samples(root, samples, skipped)
    assert len(readable) == 12
    unreadable = [s for s in skipped if s.reason != HIDDEN]
    assert [s.path for s in unreadable] == broken
    assert all("not a picture we can read" in s.reason for s in unreadable)
    summary = skipped.summary()
    assert summary.startswith(f"skipped {len(skipped)} files (4 hidden or system, 2 unreadable):")
    assert all(s.path in summary for s in skipped)


def test_folder_images_of_a_plain_folder(tmp_path: Path) -> None:
    (tmp_path / "a.jpg").write_bytes(image_bytes("JPEG"))
    (tmp_path / "._a.jpg").write_bytes(b"\x00\x05\x16\x07")
    (tmp_path / "notes.txt").write_text("not a picture by its name: not listed, not counted")
    skipped = SkippedFiles()
    assert folder_images(tmp_path, skipped) == [tmp_path / "a.jpg"]
    assert [Path(s.path).name for s in skipped] == ["._a.jpg"]


def test_load_image_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "IMG_1.jpg").write_bytes(b"GIF89a garbage")
    with pytest.raises(UnreadableImageError, match="IMG_1.jpg: ") as info:
        load_image(tmp_path, "IMG_1.jpg")
    assert info.value.path.endswith("IMG_1.jpg")
    with pytest.raises(UnreadableImageError, match="missing.jpg: cannot read the file"):
        load_image(tmp_path, "missing.jpg")


def test_train_data_loading_skips_and_counts(odd_folder, capsys: pytest.CaptureFixture[str]) -> None:
    from scalp_model.training import loop, train

    root, broken = odd_folder
    p = argparse.ArgumentParser()
    train.add_arguments(p)
    samples, split = loop.load_data(p.parse_args([str(root), "--split", "0.5", "0.25", "0.25"]), ModelMeta())
    assert len(samples) == 12 and sum(len(v) for v in split.values()) == 12
    err = capsys.readouterr().err
    assert "skipped 6 files (4 hidden or system, 2 unreadable)" in err
    assert all(b in err for b in broken)


def test_evaluate_an_odd_folder_carries_on_and_counts(odd_folder, tiny_checkpoint: Path) -> None:
    root, broken = odd_folder
    out = run_cli("evaluate", str(root), "--weights", str(tiny_checkpoint), "--device", "cpu", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["n"] == 12 and report["split"] == "all"  # the tiny checkpoint records no split
    assert len(report["skipped"]) == 6 and {s["path"] for s in report["skipped"]} >= set(broken)
    assert "skipped 6 files (4 hidden or system, 2 unreadable)" in out.stderr
    assert "records no test split" in out.stderr


def test_evaluate_another_folder_evaluates_all_of_it(odd_folder, tmp_path: Path) -> None:
    root, _ = odd_folder
    recorded = {"train": ["psoriasis/elsewhere-1.png"], "val": ["psoriasis/elsewhere-2.png"],
                "test": [f"seborrheic_dermatitis/elsewhere-{i}.png" for i in range(15)]}
    weights = make_checkpoint(tmp_path / "trained.pt", training={"split": recorded})
    out = run_cli("evaluate", str(root), "--weights", str(weights), "--device", "cpu")
    assert out.returncode == 0, out.stderr
    assert "holds none of the checkpoint's 15 recorded test files" in out.stderr
    assert "evaluating every image" in out.stderr and "split all" in out.stdout and "n=12" in out.stdout
    strict = run_cli("evaluate", str(root), "--weights", str(weights), "--device", "cpu", "--split", "test")
    assert strict.returncode == 2 and "15 recorded test files are missing" in strict.stderr


def test_predict_on_a_folder(odd_folder, tiny_checkpoint: Path) -> None:
    root, broken = odd_folder
    out = run_cli("predict", str(root / "psoriasis"), "--json", "--weights", str(tiny_checkpoint), "--device", "cpu")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 7  # 6 photos and the broken one; hidden files are not predicted
    assert not any(Path(r["path"]).name.startswith(".") or "__MACOSX" in r["path"] for r in lines)
    errors = [r for r in lines if "error" in r]
    assert [Path(r["path"]).name for r in errors] == ["zz-notes.png"]
    assert out.returncode == 1  # a file could not be read: said, and the others were predicted
    assert "skipped 2 files (2 hidden or system)" in out.stderr and "1 of 7 file(s) could not be read" in out.stderr
