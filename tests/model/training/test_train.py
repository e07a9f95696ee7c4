"""A tiny end-to-end training run on generated images, and the shipped checkpoint against its card."""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np
import pytest

from scalp_model.training.card import read_card_summary
from scalp_model.serving.checkpoint import CLASS_NAMES, card_path, card_sha256, file_sha256, load_checkpoint
from scalp_model.settings import DEFAULT_WEIGHTS
from tests.images import texture_image


# What real folders hold besides photos: a macOS resource fork (AppleDouble header then metadata), Finder's and
# Windows' own files, a copy left by unzipping on a Mac, and a picture file that is not a picture.
APPLE_DOUBLE = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        " + b"\x00" * 64


def add_odd_files(root: Path) -> list[str]:
    """Hidden, system and unreadable files in every class folder; returns the unreadable ones (relative)."""
    broken = []
    for name in CLASS_NAMES:
        folder = root / name
        (folder / "._IMG_200.jpg").write_bytes(APPLE_DOUBLE)
        (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + b"\x00" * 32)
        (folder / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 60)
        (folder / "__MACOSX").mkdir()
        (folder / "__MACOSX" / "._00.png").write_bytes(APPLE_DOUBLE)
        (folder / "zz-notes.png").write_text("a text file renamed .png\n")
        broken.append(f"{name}/zz-notes.png")
    return broken


def make_toy_data(root: Path, per_class: int = 16, odd_files: bool = False) -> Path:
    """Two classes of generated textures in pairs of near-duplicates (one group per pair); with ``odd_files``
    also hidden, system and unreadable files (see :func:`add_odd_files`)."""
    rng = np.random.default_rng(0)
    rows = []
    for label, name in enumerate(CLASS_NAMES):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            img = texture_image(label, rng, 96 if i % 2 else 128)
            rel = f"{name}/{i:02d}.png"
            img.save(root / rel)
            rows.append([rel, f"{name[:3]}{i // 2}", "big" if i % 2 == 0 else "thumb"])
    with open(root / "groups.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "group", "source"])
        w.writerows(rows)
    if odd_files:
        add_odd_files(root)
    return root


def parse(argv: list[str]) -> argparse.Namespace:
    from scalp_model.training import train

    p = argparse.ArgumentParser()
    train.add_arguments(p)
    return p.parse_args(argv)


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from scalp_model.training import train

    root = tmp_path_factory.mktemp("toy")
    data = make_toy_data(root / "data", odd_files=True)  # they are skipped: the split holds 32 images
    out = root / "w" / "toy.pt"
    args = parse([str(data), "--out", str(out), "--init", "scratch", "--epochs", "2", "--batch-size", "4",
                  "--split", "0.5", "0.25", "0.25", "--ood-components", "4", "--ood-generated", "5", "--no-progress", "--version", "toy-1",
                  "--head-init", "linear-probe",
                  "--threads", "2"])
    assert train.main(args) == 0
    return out


def test_training_writes_a_loadable_checkpoint(toy_run: Path) -> None:
    ckpt = load_checkpoint(toy_run)  # checks the card's sha256 against the file
    assert card_sha256(card_path(toy_run)) == file_sha256(toy_run) == ckpt.sha256
    meta = ckpt.meta
    assert meta.version == "toy-1" and meta.class_names == CLASS_NAMES
    assert 0 < meta.threshold < 1 and meta.temperature > 0 and meta.ood_threshold is not None
    split = meta.training["split"]
    assert sum(len(v) for v in split.values()) == 32 and all(split.values())
    assert meta.metrics["test"]["n"] == len(split["test"])
    assert set(meta.metrics["test"]["by_source"]) <= {"big", "thumb"}
    assert {"generated_non_skin"} <= set(meta.metrics["ood"]["rejection"])
    assert toy_run.with_name("toy.last.pt").is_file()


def test_recorded_in_scope_pass_rate_is_what_the_app_gate_does_on_the_test_split(toy_run: Path) -> None:
    from scalp_model.serving.predictor import Predictor

    ckpt = load_checkpoint(toy_run)
    test_files = ckpt.meta.training["split"]["test"]
    recorded = ckpt.meta.metrics["ood"]["test_pass"]
    predictor = Predictor(ckpt, device="cpu", backend="torch")
    data = Path(ckpt.meta.training["data_dir"])
    passed = [not a.prediction.out_of_scope for a in predictor.analyze_many([(data / f).read_bytes() for f in test_files])]
    assert recorded["n"] == len(test_files) > 0
    assert recorded["rate"] == pytest.approx(sum(passed) / len(passed), abs=1e-4)
    assert f"{recorded['n']} in-scope test photos" in card_path(toy_run).read_text()


def test_card_matches_metadata(toy_run: Path) -> None:
    meta = load_checkpoint(toy_run).meta
    summary = read_card_summary(card_path(toy_run))
    assert summary["version"] == meta.version
    assert summary["threshold"] == meta.threshold
    assert summary["metrics"] == json.loads(json.dumps(meta.metrics))
    text = card_path(toy_run).read_text()
    assert "NOT a medical device" in text and f"{meta.threshold:.4f}" in text


def test_evaluate_reproduces_recorded_test_figures(toy_run: Path, capsys: pytest.CaptureFixture) -> None:
    from scalp_model.training import evaluate

    meta = load_checkpoint(toy_run).meta
    p = argparse.ArgumentParser()
    evaluate.add_arguments(p)
    plots = toy_run.parent / "plots"
    args = p.parse_args([meta.training["data_dir"], "--weights", str(toy_run), "--json", "--plots", str(plots),
                         "--device", "cpu"])
    assert evaluate.main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(evaluate.JSON_KEYS) <= set(out)
    recorded = meta.metrics["test"]
    for key in ("n", "auc", "sensitivity", "specificity", "brier", "threshold"):
        assert out[key] == recorded[key]
    assert (plots / "roc.png").stat().st_size > 0 and (plots / "reliability.png").stat().st_size > 0


def test_resume_continues_from_last_state(toy_run: Path, tmp_path: Path) -> None:
    from scalp_model.training import train

    meta = load_checkpoint(toy_run).meta
    out = tmp_path / "resumed.pt"
    args = parse([meta.training["data_dir"], "--out", str(out), "--init", "scratch", "--epochs", "3",
                  "--batch-size", "4", "--split", "0.5", "0.25", "0.25", "--ood-components", "4", "--no-progress", "--no-quantize",
                  "--ood-generated", "0", "--resume", str(toy_run.with_name("toy.last.pt")), "--threads", "2"])
    assert train.main(args) == 0
    resumed = load_checkpoint(out).meta
    assert [h["epoch"] for h in resumed.training["history"]] == [0, 1, 2, 3]  # 0: the linear probe
    assert resumed.training["split"] == meta.training["split"]


def test_offline_imagenet_init_gives_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from scalp_model.training import recipe

    def offline(**kwargs):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(recipe, "build_scalpnet", lambda init: offline() if init == "imagenet" else None)
    with pytest.raises(recipe.TrainingError, match="--init scratch"):
        recipe.build_model("imagenet")
    with pytest.raises(recipe.TrainingError, match="not 'imagenet'"):
        monkeypatch.undo()
        recipe.build_model("/nonexistent/weights.pth")


def test_auto_init_falls_back_to_scratch_with_a_reason(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from scalp_model.training import recipe

    def offline(init):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(recipe, "build_scalpnet", offline)
    init, reason = recipe.resolve_init("auto")
    assert init == "scratch" and "unavailable" in reason
    assert "--init auto" in capsys.readouterr().err
    assert recipe.resolve_init("imagenet") == ("imagenet", None)  # explicit choice never falls back
    monkeypatch.setattr(recipe, "build_scalpnet", lambda init: None)
    assert recipe.resolve_init("auto") == ("imagenet", None)


def test_bad_class_weights_are_named() -> None:
    from scalp_model.training import recipe

    with pytest.raises(recipe.TrainingError, match="--class-weights"):
        recipe.class_weights("1,x", [0, 1], 2)
    w = recipe.class_weights("balanced", [0, 0, 0, 1], 2)
    assert w.tolist() == pytest.approx([4 / 6, 2.0])


SHIPPED = DEFAULT_WEIGHTS


def test_shipped_card_matches_shipped_checkpoint() -> None:
    # The checkpoint is part of the repository (README: the app runs it out of the box): missing is a failure.
    assert SHIPPED.is_file(), f"the shipped checkpoint {SHIPPED} is missing"
    assert card_path(SHIPPED).is_file(), f"the shipped checkpoint's card {card_path(SHIPPED)} is missing"
    assert card_sha256(card_path(SHIPPED)) == file_sha256(SHIPPED)
    meta = load_checkpoint(SHIPPED).meta
    summary = read_card_summary(card_path(SHIPPED))
    assert summary["metrics"] == json.loads(json.dumps(meta.metrics))
    assert summary["threshold"] == meta.threshold and summary["version"] == meta.version
    assert SHIPPED.stat().st_size <= 30 * 1024 * 1024
