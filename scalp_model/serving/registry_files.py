"""A checkpoint's files as the model registry needs them (issue 20): checked (weights and model card) and
copied into the models folder under a name no other registered checkpoint can take.

No database here: :mod:`clinic.models` stores what :func:`inspect_for_registry` returns.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import WeightsCorruptError, WeightsError
from .checkpoint import card_path, card_sha256, load_checkpoint

MAX_VERSION = 64  # characters, as the registry's and the predictions' version columns


class CardMissingError(WeightsError):
    """The checkpoint has no model card beside it, or the card does not name the file's sha256."""


@dataclass(frozen=True)
class CheckpointFacts:
    """What the registry records of a checked checkpoint: its file and card, ``version`` and ``sha256`` (hex,
    64), ``architecture``, operating ``threshold`` (0..1), the card's Markdown and the checkpoint's recorded
    held-out ``figures`` (``ModelMeta.metrics``)."""

    path: Path
    card_path: Path
    version: str
    sha256: str
    architecture: str
    threshold: float
    card: str
    figures: dict[str, Any] = field(default_factory=dict)


def inspect_for_registry(path: Path | str) -> CheckpointFacts:
    """Load ``path`` fully (the network is built, so weights that do not fit fail here) and check its card.

    Raises ``WeightsMissingError`` / ``WeightsCorruptError`` / ``WeightsMismatchError`` as
    :func:`~scalp_model.serving.checkpoint.load_checkpoint` does, :class:`CardMissingError` when no card
    ``<name>.md`` lies beside it or the card names no sha256, and ``WeightsCorruptError`` for a version that
    is empty or longer than :data:`MAX_VERSION` characters.
    """
    path = Path(path)
    checkpoint = load_checkpoint(path, check_card=True, lazy=False)  # a card naming another sha256 fails here
    card = card_path(path)
    if not card.is_file():
        raise CardMissingError(f"{path.name} has no model card: write {card.name} beside it (python -m scalp_model "
                               "train writes one) before registering it.")
    if card_sha256(card) is None:
        raise CardMissingError(f"The model card {card.name} does not name the checkpoint's sha256, so it cannot be "
                               "tied to this file; add the line 'sha256: <hash>' (python -m scalp_model info shows it).")
    version = checkpoint.meta.version.strip()
    if not version or len(version) > MAX_VERSION:
        raise WeightsCorruptError(f"{path.name}: the checkpoint's version must be 1 to {MAX_VERSION} characters "
                                  f"(it is {len(version)}).")
    return CheckpointFacts(path=path, card_path=card, version=version, sha256=checkpoint.sha256,
                           architecture=checkpoint.meta.architecture, threshold=float(checkpoint.meta.threshold),
                           card=card.read_text(encoding="utf-8"), figures=dict(checkpoint.meta.metrics))


def stored_name(facts: CheckpointFacts) -> str:
    """The checkpoint's file name in the models folder: its version made file-safe and its sha256's first 12
    hex digits (two checkpoints never share a name)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", facts.version).strip(".-") or "model"
    return f"{safe}-{facts.sha256[:12]}.pt"


def copy_into(facts: CheckpointFacts, folder: Path) -> Path:
    """Copy the checkpoint, its card and its plots (``<stem>_*.png``) into ``folder`` (created when missing) as
    :func:`stored_name`; each file is written to a temporary name first, so a half-copied checkpoint never
    carries the final name. Returns the stored checkpoint's path. Raises ``OSError`` when the folder is not
    writable and ``WeightsCorruptError`` when the copy does not hash as the original."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / stored_name(facts)
    sources = [(facts.card_path, card_path(target)), (facts.path, target)]  # the checkpoint last: it marks done
    sources[:0] = [(plot, folder / f"{target.stem}{plot.name.removeprefix(facts.path.stem)}")
                   for plot in sorted(facts.path.parent.glob(f"{facts.path.stem}_*.png"))]
    for source, destination in sources:
        tmp = destination.with_name(destination.name + ".tmp")
        shutil.copyfile(source, tmp)
        tmp.replace(destination)
    copied = load_checkpoint(target, check_card=True, lazy=True)
    if copied.sha256 != facts.sha256:
        target.unlink(missing_ok=True)
        raise WeightsCorruptError(f"The copy of {facts.path.name} in {folder} does not match the original; "
                                  "check the disk and register it again.")
    return target
