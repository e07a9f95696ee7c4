"""Generated checkpoints with model cards, for the model registry's tests (issue 20)."""
from __future__ import annotations

from pathlib import Path

from scalp_model.serving.checkpoint import card_path, file_sha256
from testing.factories import make_checkpoint


def carded_checkpoint(folder: Path, version: str, *, seed: int = 0, **meta_changes) -> Path:
    """A generated GoogLeNet checkpoint ``<folder>/<version>.pt`` (weights from ``seed``) with a short model card
    naming its sha256 and a held-out AUC figure; returns the checkpoint's path."""
    folder.mkdir(parents=True, exist_ok=True)
    meta_changes.setdefault("metrics", {"test": {"auc": 0.5 + seed / 100}})
    path = make_checkpoint(folder / f"{version}.pt", seed=seed, version=version, **meta_changes)
    card_path(path).write_text(f"# {version} — generated test model\n\nNot a medical device.\n\n"
                               f"sha256: {file_sha256(path)}\n", encoding="utf-8")
    return path
