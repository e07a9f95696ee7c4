"""The path back into training: reviewed consultations → ``python -m db export-training`` → ``train``."""
from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np

from db.consultations import NewImage, claim, record_review, submit_consultation
from db.engine import Database
from db.users import create_user
from scalp_model.serving.checkpoint import CLASS_NAMES, load_checkpoint
from tests.images import texture_image
from tests.conftest import REPO_ROOT
from tests.db.builders import HISTORY, TEST_PASSWORD, new_prediction


def _jpeg(label: int, rng: np.random.Generator) -> NewImage:
    img = texture_image(label, rng, 96)
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG")
    return NewImage(data=buf.getvalue(), mime="image/jpeg", width=img.width, height=img.height)


def test_export_feeds_a_training_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    database = Database.from_url(url)
    database.migrate()
    rng = np.random.default_rng(0)
    with database.begin() as s:
        doctor = create_user(s, "dr.export", TEST_PASSWORD)
    for i in range(16):  # 8 consultations per diagnosis, two photos each: one group per consultation
        label = i % 2
        with database.begin() as s:
            consultation, _ = submit_consultation(s, HISTORY, "v1", [_jpeg(label, rng), _jpeg(label, rng)],
                                                  [new_prediction(), new_prediction()])
            claim(s, consultation.id, doctor)
            record_review(s, consultation.id, doctor, CLASS_NAMES[label])
    database.dispose()

    export = tmp_path / "ds"
    run = [sys.executable, "-m", "db", "--database-url", url, "export-training", str(export)]
    assert subprocess.run(run, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120).returncode == 0
    assert len(list((export / "psoriasis").iterdir())) == 16

    out = tmp_path / "from-clinic.pt"
    train = [sys.executable, "-m", "scalp_model", "train", str(export), "--out", str(out), "--init", "scratch",
             "--epochs", "1", "--batch-size", "8", "--split", "0.5", "0.25", "0.25", "--ood-components", "4",
             "--ood-generated", "4", "--no-progress", "--no-quantize", "--threads", "2"]
    done = subprocess.run(train, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    ckpt = load_checkpoint(out)
    split = ckpt.meta.training["split"]
    groups = {part: {Path(f).name.split("_")[0] for f in files} for part, files in split.items()}
    assert groups["train"].isdisjoint(groups["test"]) and groups["train"].isdisjoint(groups["val"])
