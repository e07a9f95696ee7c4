"""``python -m scalp_model`` end to end, in a real subprocess."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import REPO_ROOT
from tests.factories import image_bytes


def run_cli(*args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "scalp_model", *args], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=env, timeout=300)


def test_predict_json_cam_and_bad_file(tiny_checkpoint: Path, tmp_path: Path) -> None:
    good = tmp_path / "scalp photo.jpg"
    good.write_bytes(image_bytes("JPEG"))
    fake = tmp_path / "notes.jpg"
    fake.write_text("this is a text file renamed .jpg\n")
    out = run_cli("predict", str(good), str(fake), "--json", "--cam", str(tmp_path / "cam"),
                  "--weights", str(tiny_checkpoint))
    assert out.returncode != 0
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 2
    ok, bad = lines
    assert set(ok) >= {"path", "label", "p_psoriasis", "threshold", "uncertain", "out_of_scope", "quality", "model"}
    assert ok["label"] in ("psoriasis", "seborrheic_dermatitis") and 0 <= ok["p_psoriasis"] <= 1
    assert len(ok["model"]["sha256"]) == 64
    assert Image.open(ok["cam"]).format == "PNG"
    assert bad == {"path": str(fake), "error": bad["error"]} and "not a picture" in bad["error"]
    assert "Traceback" not in out.stderr


def test_predict_all_good_exits_zero(tiny_checkpoint: Path, tmp_path: Path) -> None:
    img = tmp_path / "a.png"
    img.write_bytes(image_bytes("PNG"))
    out = run_cli("predict", str(img), "--weights", str(tiny_checkpoint))
    assert out.returncode == 0, out.stderr
    assert "p_psoriasis=" in out.stdout


def test_missing_weights_say_what_is_missing(tmp_path: Path) -> None:
    img = tmp_path / "a.png"
    img.write_bytes(image_bytes("PNG"))
    out = run_cli("predict", str(img), "--weights", str(tmp_path / "absent.pt"))
    assert out.returncode == 3
    assert "No model weights" in out.stderr and "absent.pt" in out.stderr and "Traceback" not in out.stderr


def test_info_prints_metadata(tiny_checkpoint: Path) -> None:
    out = run_cli("info", "--weights", str(tiny_checkpoint), "--json")
    assert out.returncode == 0
    info = json.loads(out.stdout)
    assert info["meta"]["class_names"] == ["psoriasis", "seborrheic_dermatitis"] and info["meta"]["input_size"] == 224


@pytest.mark.slow
def test_bench_json_prints_every_figure(tiny_checkpoint: Path) -> None:
    out = run_cli("bench", "--json", "--weights", str(tiny_checkpoint), "--runs", "2", "--set-runs", "1",
                  "--set-size", "4", "--no-cold-start")
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout)
    for key in ("forward_ms", "per_image_s", "set_s", "map_ms", "decode_12mp_ms", "memory_mb",
                "max_prob_diff_vs_reference"):
        assert key in res
    assert res["set_s"]["n_images"] == 4
    for key in ("forward_ms", "per_image_s", "set_s", "decode_12mp_ms"):
        figure = res[key]
        assert math.isfinite(figure["ours"]) and figure["ours"] > 0, key
        assert math.isfinite(figure["reference"]) and figure["reference"] > 0, key
        # The ratio is the one the README's table prints: reference time over ours, from this same run.
        assert figure["speedup"] == pytest.approx(figure["reference"] / figure["ours"], rel=1e-9), key
    # Same weights, same input tensors: an fp32 engine gives the reference's probabilities (the tiny checkpoint
    # records no int8 calibration; 1e-3 leaves room for TF32 convolutions on a GPU).
    assert not res["engine"].endswith("int8")
    assert res["max_prob_diff_vs_reference"]["same_input"] < 1e-3
    assert res["max_prob_diff_vs_reference"]["same_input"] < 1e-3


def test_unknown_command() -> None:
    out = run_cli("frobnicate")
    assert out.returncode == 2 and "invalid choice" in out.stderr
