"""Group k-fold cross-validation of the shipped recipe: no leakage across groups, calibration inside folds,
the crossval command and ``train --calibrate cv`` on generated data."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scalp_model.training.crossval import (calibration_from_scores, cross_validate, out_of_fold_scores,
                                           recipe_report, sigmoid)
from tests.model.training.test_train import make_toy_data, parse


def _grouped(n_groups: int = 30, per_group: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    group_labels = rng.permutation(np.arange(n_groups) % 2)
    groups = np.repeat([f"g{i}" for i in range(n_groups)], per_group)
    labels = np.repeat(group_labels, per_group)
    return rng, groups, labels


def test_group_identity_features_cannot_leak_across_folds() -> None:
    # A feature that names the group is perfect under a by-file split but useless when groups stay whole.
    rng, groups, labels = _grouped()
    one_hot = (groups[:, None] == np.unique(groups)[None, :]).astype(float) + rng.normal(0, 0.01, (len(groups), 30))
    result = cross_validate(one_hot, labels, groups, ["web"] * len(labels), seeds=(0, 1))
    assert result.auc_mean < 0.7


def test_informative_features_score_high_and_noise_near_chance() -> None:
    rng, groups, labels = _grouped(60)
    signal = rng.normal(0, 1, (len(labels), 8)) + labels[:, None] * 1.5
    noise = rng.normal(0, 1, (len(labels), 8))
    sources = ["dermnet_thumb" if i % 2 else "web" for i in range(len(labels))]
    good = recipe_report(signal, labels, groups, sources, seeds=(0,))
    bad = recipe_report(noise, labels, groups, sources, seeds=(0,))
    assert good["mean"]["overall"]["auc"] > 0.9 and abs(bad["mean"]["overall"]["auc"] - 0.5) < 0.2
    assert good["per_seed"][0]["same_source"]["n"] == sum(s == "dermnet_thumb" for s in sources)
    # thresholds fitted inside each training fold still reach roughly the target sensitivity out of fold
    assert good["mean"]["overall"]["sensitivity"] >= 0.8


def test_calibration_threshold_reaches_the_target_sensitivity() -> None:
    rng, groups, labels = _grouped(80)
    scores = out_of_fold_scores(rng.normal(0, 1, (len(labels), 4)) + labels[:, None], labels, groups)
    calibration = calibration_from_scores(scores, labels, 0.95)
    p = calibration.probability(scores)
    assert calibration.temperature > 0 and (p[labels == 1] >= calibration.threshold).mean() >= 0.95


def test_platt_scaling_recovers_an_offset_that_temperature_alone_cannot() -> None:
    """Scores whose true log-odds are 0.5 * score - 1.5 (a probe whose balanced class weights moved its offset):
    Platt scaling finds the slope and the shift and is better calibrated than temperature scaling alone."""
    from scalp_model.metrics.classification import ece, fit_temperature

    rng = np.random.default_rng(3)
    scores = rng.normal(1.0, 3.0, 4000)
    labels = (rng.random(4000) < sigmoid(0.5 * scores - 1.5)).astype(int)
    calibration = calibration_from_scores(scores, labels, 0.95)
    assert abs(1 / calibration.temperature - 0.5) < 0.08 and abs(calibration.shift - (-3.0)) < 0.5
    t_only = fit_temperature(np.stack([np.zeros_like(scores), scores], axis=1), labels)
    assert ece(labels, calibration.probability(scores)) < 0.03 < ece(labels, sigmoid(scores / t_only))


@pytest.fixture(scope="module")
def lp_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from scalp_model.training import train

    root = tmp_path_factory.mktemp("lp")
    data = make_toy_data(root / "data")
    reference = root / "ref.json"
    fake = recipe_report(np.random.default_rng(0).normal(size=(32, 3)), np.arange(32) % 2,
                         [f"g{i // 2}" for i in range(32)], ["web"] * 32, seeds=(0,))
    reference.write_text(json.dumps({**fake, "features": "a reference row"}))
    out = root / "w" / "lp.pt"
    provenance = root / "provenance.md"
    provenance.write_text("Generated textures made by the test, nothing else.\n")
    log = root / "log.jsonl"
    log.write_text("\n".join(json.dumps(e) for e in [
        {"step": 0, "hours": 0.0, "kind": "eval", "feature_r2": -0.01, "task_r": None, "probe_224": {"auc": 0.61}},
        {"step": 100, "hours": 0.1, "kind": "train", "epochs": 0.4, "loss": 3.0},
        {"step": 200, "hours": 0.2, "kind": "eval", "feature_r2": 0.123, "task_r": 0.45, "probe_224": {"auc": 0.66}},
        {"step": 300, "hours": 0.3, "kind": "train", "epochs": 1.3, "loss": 2.0}]) + "\n")
    args = parse([str(data), "--out", str(out), "--init", "scratch", "--epochs", "0", "--head-init", "linear-probe",
                  "--distill-log", str(log), "--provenance", str(provenance),
                  "--calibrate", "cv", "--cv-reference", f"teacher X={reference}", "--split", "0.7", "0.15", "0.15",
                  "--probe-c", "0.05", "--probe-c-candidates", "0.1", "0.05",
                  "--ood-components", "4", "--ood-generated", "3", "--no-progress", "--no-quantize", "--threads", "2"])
    assert train.main(args) == 0
    return out, data


def test_linear_probe_with_cv_calibration_records_the_recipe_cross_validation(lp_run) -> None:
    from scalp_model.serving.checkpoint import card_path, load_checkpoint

    out, _ = lp_run
    meta = load_checkpoint(out).meta
    cv = meta.metrics["cross_validation"]
    assert cv["folds"] == 5 and len(cv["per_seed"]) == 3 and cv["per_seed"][0]["overall"]["n"] == 32
    assert cv["references"][0]["name"] == "teacher X"
    split = meta.training["split"]
    assert cv["per_seed"][0]["unseen"]["n"] == len(split["val"]) + len(split["test"]) > 0
    assert f"(n={len(split['val']) + len(split['test'])})" in card_path(out).read_text()
    card = card_path(out).read_text()
    assert "## Cross-validation" in card and "teacher X (a reference row, C = 0.1)" in card
    assert cv["probe_c"] == 0.05 and "C = 0.05, Platt scaling" in card
    assert "temperature by LBFGS on validation" not in card and "linear probe (C = 0.05) on the frozen trunk" in card
    assert "C = 0.05 was chosen among 0.05, 0.1 by this same cross-validation" in card
    assert "Generated textures made by the test" in card and "`unlabeled/`" not in card
    assert 0 < meta.threshold < 1 and meta.temperature > 0
    distillation = meta.metrics["distillation"]
    assert distillation["step"] == 300 and distillation["last_eval"]["feature_r2"] == 0.123
    assert "## Distillation" in card and "| 200 | 0.2 | 0.123 | 0.450 | 0.660 |" in card


def test_cv_calibration_refuses_a_fine_tuned_model(tmp_path: Path) -> None:
    from scalp_model.training import train

    data = make_toy_data(tmp_path / "data")
    args = parse([str(data), "--out", str(tmp_path / "x.pt"), "--init", "scratch", "--epochs", "1", "--calibrate", "cv",
                  "--ood-generated", "0", "--ood-components", "4", "--no-progress", "--no-quantize", "--batch-size", "8"])
    assert train.main(args) == 2


def test_a_bad_cv_reference_is_refused_before_training_and_leaves_the_old_file(lp_run, tmp_path: Path, capsys) -> None:
    import shutil

    from scalp_model.training import train

    out, data = lp_run
    target = tmp_path / "shipped.pt"
    shutil.copy(out, target)
    before = target.read_bytes()
    for item in (f"no file={tmp_path / 'missing.json'}", f"={tmp_path / 'missing.json'}", f"not json={out}"):
        args = parse([str(data), "--out", str(target), "--init", "scratch", "--epochs", "0", "--head-init",
                      "linear-probe", "--calibrate", "cv", "--cv-reference", item, "--no-progress", "--no-quantize"])
        assert train.main(args) == 2
        err = capsys.readouterr()
        assert "--cv-reference" in err.err and "linear probe:" not in err.out  # refused before any training
    assert target.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["shipped.pt"]


def test_a_failure_after_training_leaves_the_old_file_and_no_partial_one(lp_run, tmp_path: Path, monkeypatch) -> None:
    import shutil

    from scalp_model.training import posthoc, train

    out, data = lp_run
    target = tmp_path / "shipped.pt"
    shutil.copy(out, target)
    before = target.read_bytes()

    def fails(*_a, **_k):
        raise RuntimeError("interrupted on the way")

    monkeypatch.setattr(posthoc, "recipe_cross_validation", fails)
    args = parse([str(data), "--out", str(target), "--init", "scratch", "--epochs", "0", "--head-init", "linear-probe",
                  "--calibrate", "cv", "--ood-components", "4", "--ood-generated", "0", "--split", "0.7", "0.15", "0.15",
                  "--no-progress", "--no-quantize", "--threads", "2"])
    with pytest.raises(RuntimeError, match="interrupted"):
        train.main(args)
    assert target.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["shipped.pt"]


def test_a_reference_name_may_hold_an_equals_sign(tmp_path: Path) -> None:
    from scalp_model.training.probe_cv import cv_references

    report = tmp_path / "r.json"
    report.write_text(json.dumps({"features": "f", "mean": {}, "per_seed": [{}], "probe_c": 0.1}))
    assert cv_references([f"Lite2 at C = 0.1={report}"])[0]["name"] == "Lite2 at C = 0.1"


def test_crossval_command_reports_a_checkpoint_and_names_a_missing_folder(lp_run, capsys, tmp_path: Path) -> None:
    from scalp_model.cli import main

    out, data = lp_run
    assert main(["crossval", str(data), "--weights", str(out), "--seeds", "0", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["per_seed"][0]["overall"]["n"] == 32 and "lp.pt" in report["features"]
    assert report["probe_c"] == 0.05  # the C the card records, by default
    assert main(["crossval", str(data), "--weights", str(out), "--seeds", "0", "--probe-c", "0.05", "1", "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["probe_c"] for r in reports] == [0.05, 1.0]
    assert reports[0]["mean"] == report["mean"]
    assert main(["crossval", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err


def test_evaluate_shows_the_recorded_cross_validation_beside_the_fresh_figures(lp_run, capsys) -> None:
    from scalp_model.cli import main

    out, data = lp_run
    assert main(["evaluate", str(data), "--weights", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    names = [r["name"] for r in report["recorded"]["cross_validation"]]
    assert names == ["this model", "teacher X"]
    assert report["recorded"]["distillation"]["feature_r2"] == 0.123
    assert main(["evaluate", str(data), "--weights", str(out)]) == 0
    text = capsys.readouterr().out
    assert "recorded in the model card" in text and "teacher X: AUC" in text


def test_a_crossval_report_can_be_recorded_in_an_existing_card(lp_run, capsys, tmp_path: Path) -> None:
    import shutil

    from scalp_model.training.card import main as card_main
    from scalp_model.serving.checkpoint import card_path, load_checkpoint
    from scalp_model.cli import main

    out, data = lp_run
    copy = tmp_path / "copy.pt"
    shutil.copy(out, copy)
    shutil.copy(card_path(out), card_path(copy))
    load_checkpoint(copy)  # the copied card still names the bytes it describes
    assert main(["crossval", str(data), "--weights", str(copy), "--seeds", "0", "--json"]) == 0
    report = tmp_path / "report.json"
    report.write_text(capsys.readouterr().out)
    assert card_main([str(copy), "--cross-validation", str(report), "--reference", "a teacher", str(report)]) == 0
    cv = load_checkpoint(copy).meta.metrics["cross_validation"]
    assert cv["seeds"] == [0] and [r["name"] for r in cv["references"]] == ["a teacher"]
    assert "| a teacher (GoogLeNet trunk of copy.pt" in card_path(copy).read_text()
    with pytest.raises(ValueError, match="not lp.pt"):
        card_main([str(out), "--cross-validation", str(report)])


@pytest.mark.shared_data
@pytest.mark.slow
def test_crossval_reproduces_the_shipped_card(shared_data: Path, capsys) -> None:
    from scalp_model.serving.checkpoint import load_checkpoint
    from scalp_model.cli import main
    from scalp_model.settings import DEFAULT_WEIGHTS

    recorded = load_checkpoint(DEFAULT_WEIGHTS).meta.metrics.get("cross_validation")
    assert recorded and "mean" in recorded, "the shipped card records no recipe cross-validation"
    assert main(["crossval", str(shared_data / "scalp"), "--json"]) == 0
    fresh = json.loads(capsys.readouterr().out)
    for subset, figures in recorded["mean"].items():
        for key, value in figures.items():
            assert fresh["mean"][subset][key] == pytest.approx(value, abs=0.01), (subset, key)


@pytest.mark.shared_data
def test_evaluate_reproduces_the_shipped_test_split_figures(shared_data: Path, capsys, monkeypatch) -> None:
    from scalp_model.serving.checkpoint import load_checkpoint

    monkeypatch.setenv("SCALPSCOPE_PRECISION", "fp32")  # the card's figures are fp32's; int8's change is recorded apart
    from scalp_model.cli import main
    from scalp_model.settings import DEFAULT_WEIGHTS

    recorded = load_checkpoint(DEFAULT_WEIGHTS).meta.metrics["test"]
    assert main(["evaluate", str(shared_data / "scalp"), "--split", "test", "--json", "--device", "cpu"]) == 0
    fresh = json.loads(capsys.readouterr().out)
    assert fresh["n"] == recorded["n"]
    for key in ("auc", "sensitivity", "specificity"):
        assert fresh[key] == pytest.approx(recorded[key], abs=1e-3), key


@pytest.mark.shared_data
def test_the_shipped_gate_lets_held_out_scalp_photos_through_and_turns_other_dermoscopy_away(shared_data: Path) -> None:
    """On real photos: the out-of-scope gate must not deny an estimate to genuine scalp photos the model never
    chose anything on (validation and test splits, 31 photos) while it rejects dermoscopy of other lesions.
    demo-v5's subspace-only gate, its threshold a quantile of 16 validation photos, turned away 4 of the 31 (and
    55 % of its own training photos): this is the check that caught it."""
    import numpy as np

    from scalp_model.serving.checkpoint import load_checkpoint
    from scalp_model.serving.predictor import Predictor
    from scalp_model.settings import DEFAULT_WEIGHTS

    ckpt = load_checkpoint(DEFAULT_WEIGHTS)
    predictor = Predictor(ckpt, device="cpu", backend="torch", precision="fp32")
    split = ckpt.meta.training["split"]
    held_out = [shared_data / "scalp" / f for f in split["val"] + split["test"]]
    others = sorted((shared_data / "other_dermoscopy").rglob("*.jpg"))
    others = [others[i] for i in np.random.default_rng(1).choice(len(others), min(100, len(others)), replace=False)]

    def passed(paths: list[Path]) -> float:
        analyses = predictor.analyze_many([p.read_bytes() for p in paths])
        return float(np.mean([not a.prediction.out_of_scope for a in analyses]))

    assert passed(held_out) >= 0.95, "genuine held-out scalp photos turned away by the out-of-scope gate"
    assert passed(others) <= 0.10, "other dermoscopy let through the out-of-scope gate"
