"""``info``: print the model card (the Markdown beside the checkpoint, else its metadata)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import settings
from ..serving.checkpoint import card_path, load_checkpoint
from ..errors import WeightsError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--weights", type=Path, default=None, help="checkpoint (default: the shipped one)")
    parser.add_argument("--json", action="store_true", help="print the checkpoint metadata as JSON")


def main(args: argparse.Namespace) -> int:
    path = args.weights or settings.weights_path()
    try:
        ckpt = load_checkpoint(path)
    except WeightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    card = card_path(Path(path))
    if args.json or not card.is_file():
        print(json.dumps({"path": str(path), "sha256": ckpt.sha256, "meta": ckpt.meta.to_dict()}, indent=2))
    else:
        print(card.read_text(encoding="utf-8"))
    return 0
