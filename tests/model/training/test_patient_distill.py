"""Patient distillation on generated pictures: consistent views, the corpus rules, and a run that is
interrupted (SIGTERM) and resumed ending bit-identical to the same run left alone."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from scalp_model.training.views import ViewPolicy, build_corpus, folder_images, make_views, whole_views
from tests.model.training.test_train import make_toy_data

REPO = Path(__file__).resolve().parents[3]


def make_extra(root: Path, n: int = 40) -> Path:
    rng = np.random.default_rng(1)
    root.mkdir(parents=True)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (48 + i % 7, 64, 3), dtype=np.uint8)).save(root / f"{i:03d}.jpg")
    (root / "._000.jpg").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return root


def test_views_are_seeded_in_range_and_the_identity_view_is_the_whole_picture() -> None:
    images = torch.randint(0, 256, (6, 3, 64, 64), dtype=torch.uint8)
    a = make_views(images, 48, ViewPolicy(), torch.Generator().manual_seed(3))
    b = make_views(images, 48, ViewPolicy(), torch.Generator().manual_seed(3))
    c = make_views(images, 48, ViewPolicy(), torch.Generator().manual_seed(4))
    assert a.shape == (6, 3, 48, 48) and a.min() >= 0 and a.max() <= 1
    assert torch.equal(a, b) and not torch.allclose(a, c)
    identity = ViewPolicy(area=(1.0, 1.0), aspect=(1.0, 1.0), rotate=0.0, jitter=0.0, mixup_p=0.0, flip=False)
    same = make_views(images, 64, identity, torch.Generator().manual_seed(0))
    assert torch.allclose(same, whole_views(images, 64), atol=1e-5)


def test_corpus_holds_only_training_split_scalp_photos_and_names_skipped_files(tmp_path: Path) -> None:
    scalp = make_toy_data(tmp_path / "scalp")
    extra = make_extra(tmp_path / "extra")
    messages: list[str] = []
    corpus, split = build_corpus(scalp, [extra], size=32, log=messages.append)
    scalp_files = {f for f, k in zip(corpus.files, corpus.kinds) if k == "scalp"}
    assert scalp_files == {str(scalp / f) for f in split["train"]}
    assert not scalp_files & {str(scalp / f) for f in split["val"] + split["test"]}
    assert len(corpus) == len(split["train"]) + 40  # the hidden file is not a picture, the broken one is skipped
    assert [Path(s.split(":")[0]).name for s in corpus.skipped] == ["broken.jpg"]
    assert any("skipped 1 unreadable" in m for m in messages)
    assert "._000.jpg" not in {p.name for p in folder_images(extra)}
    assert corpus.images.dtype == torch.uint8 and corpus.images.shape[1:] == (3, 32, 32)


def _command(run_dir: Path, scalp: Path, extra: Path, max_steps: int) -> list[str]:
    return [sys.executable, "-m", "scalp_model.training.patient_distill", "--run-dir", str(run_dir),
            "--scalp-dir", str(scalp), "--extra", str(extra), "--teacher", "lite0", "--teacher-size", "64",
            "--student-size", "32", "--corpus-size", "48", "--batch-size", "8", "--probe-views", "1",
            "--stats-views", "64", "--warmup", "2", "--save-minutes", "0", "--eval-minutes", "1000",
            "--threads", "1", "--max-steps", str(max_steps)]


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_weights(tmp_path: Path) -> None:
    scalp = make_toy_data(tmp_path / "scalp")
    extra = make_extra(tmp_path / "extra")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    interrupted = tmp_path / "interrupted"
    proc = subprocess.Popen(_command(interrupted, scalp, extra, 500), cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    while not (interrupted / "state.pt").is_file() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    stopped_at = torch.load(interrupted / "state.pt", weights_only=False)["step"]
    assert 0 < stopped_at < 500, out
    final = stopped_at + 3
    resumed = subprocess.run(_command(interrupted, scalp, extra, final), cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed {interrupted / 'state.pt'} at step {stopped_at}" in resumed.stdout + resumed.stderr
    straight = tmp_path / "straight"
    alone = subprocess.run(_command(straight, scalp, extra, final), cwd=REPO, env=env,
                           capture_output=True, text=True, timeout=300)
    assert alone.returncode == 0, alone.stderr
    a = torch.load(interrupted / "state.pt", weights_only=False)
    b = torch.load(straight / "state.pt", weights_only=False)
    assert a["step"] == b["step"] == final
    for key in ("student", "ema"):
        for name, tensor in a[key].items():
            assert torch.equal(tensor, b[key][name]), f"{key}.{name} differs after resuming"
    steps = [e["step"] for e in a["log"] if e["kind"] == "eval"]
    assert steps == [0]  # the held-back measures were logged once, at the start of the run
    trunk = tmp_path / "student.pth"
    exported = subprocess.run(_command(interrupted, scalp, extra, final) + ["--export", str(trunk)], cwd=REPO,
                              env=env, capture_output=True, text=True, timeout=300)
    assert exported.returncode == 0, exported.stderr
    from scalp_model.serving.network import build_scalpnet

    net, transform_input = build_scalpnet(init=str(trunk))
    assert transform_input is False
    assert torch.equal(net.backbone.conv1.conv.weight, a["ema"]["net.backbone.conv1.conv.weight"])


@pytest.mark.slow
def test_a_new_machine_resumes_from_the_committed_milestone(tmp_path: Path) -> None:
    scalp = make_toy_data(tmp_path / "scalp")
    extra = make_extra(tmp_path / "extra")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    milestone = tmp_path / "committed" / "student.pt"
    first = subprocess.run(_command(tmp_path / "machine-a", scalp, extra, 4) + ["--milestone", str(milestone)],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    saved = torch.load(milestone, weights_only=False)
    assert saved["step"] == 4 and all(v.dtype == torch.float16 for v in saved["ema"].values() if v.is_floating_point())
    assert milestone.stat().st_size < (tmp_path / "machine-a" / "state.pt").stat().st_size / 3
    # machine B has the repository (milestone) but not the run folder
    second = subprocess.run(_command(tmp_path / "machine-b", scalp, extra, 6) + ["--milestone", str(milestone)],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert f"resumed from milestone {milestone} at step 4" in second.stdout + second.stderr
    state = torch.load(tmp_path / "machine-b" / "state.pt", weights_only=False)
    assert state["step"] == 6 and [e["step"] for e in state["log"] if e["kind"] == "eval"] == [0]
