"""Switching models without a restart (issue 20), on SQLite and PostgreSQL: two app processes serve the active
model, an activation by an admin reaches both within ``SCALPSCOPE_MODEL_POLL_S`` (plus loading the checkpoint),
their predictions carry the new version, and rolling back is activating the earlier model again."""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from clinic import models
from db.engine import Database
from testing.models import carded_checkpoint

REPO_ROOT = Path(__file__).resolve().parents[2]
POLL_S = 1.0
SEEN_WITHIN_S = POLL_S + 2.0  # the poll, the probe's 0.1 s loop and a busy 2-core machine
SERVED_WITHIN_S = 60.0  # plus building the new checkpoint's network and one prediction


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("incoming")
    return carded_checkpoint(folder, "switch-a", seed=3), carded_checkpoint(folder, "switch-b", seed=4)


def start_probe(database: Database, models_dir: Path, fallback: Path, expect: str) -> tuple[subprocess.Popen, queue.Queue]:
    env = {**os.environ, "DATABASE_URL": database.engine.url.render_as_string(hide_password=False),
           "SCALPSCOPE_MODELS_DIR": str(models_dir), "SCALPSCOPE_MODEL_POLL_S": str(POLL_S),
           "SCALPSCOPE_WEIGHTS": str(fallback), "SCALPSCOPE_BACKEND": "torch", "SCALPSCOPE_DEVICE": "cpu",
           "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "testing.model_switch_probe", "--expect", expect,
                                "--timeout", "240"], env=env, cwd=REPO_ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(json.loads(line)) for line in process.stdout], daemon=True).start()
    return process, lines


def wait_for(lines: queue.Queue, version: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        report = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        if report["predicted"] == version:
            return report


def test_two_app_processes_switch_and_roll_back(database: Database, clinicians, checkpoints, tmp_path: Path) -> None:
    root = clinicians[2]
    models_dir = tmp_path / "models"
    first = models.register_checkpoint(database, checkpoints[0], actor=root.actor, models_dir=models_dir)
    second = models.register_checkpoint(database, checkpoints[1], actor=root.actor, models_dir=models_dir)
    models.activate(database, root, first.id, "first model")
    probes = [start_probe(database, models_dir, checkpoints[1], "switch-a,switch-b,switch-a") for _ in range(2)]
    try:
        for _, lines in probes:  # both serve the active model (not the SCALPSCOPE_WEIGHTS fallback, switch-b)
            assert wait_for(lines, "switch-a", 180)["active"] == "switch-a"
        for target, reason in ((second, "better on our reviewed cases"), (first, "roll back: too many flags")):
            asked = time.time()
            models.activate(database, root, target.id, reason)
            for _, lines in probes:
                report = wait_for(lines, target.version, SERVED_WITHIN_S)
                assert report["active"] == target.version
                assert report["seen_at"] - asked < SEEN_WITHIN_S, report
                assert report["served_at"] - asked < SERVED_WITHIN_S, report
        for process, _ in probes:
            assert process.wait(timeout=30) == 0, process.stderr.read()
    finally:
        for process, _ in probes:
            if process.poll() is None:
                process.kill()
