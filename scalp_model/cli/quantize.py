"""``quantize DATA_DIR``: calibrate int8 inference for a checkpoint and record what int8 changes.

Calibration uses the checkpoint's own training split (never a held-out image); the comparison with fp32
uses validation + test, the group-held-out images. The ranges and the figures are written into the
checkpoint's metadata and card; the int8 model is rebuilt from them on first use.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .. import settings
from ..errors import WeightsError
from ..training.data import SkippedFiles
from ..training.quantize import quantize_checkpoint


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data_dir", type=Path, help="the labelled folder the checkpoint was trained on")
    parser.add_argument("--weights", type=Path, default=None, help="checkpoint (default: the shipped one)")
    parser.add_argument("--out", type=Path, default=None, help="write a new checkpoint here instead of in place")
    parser.add_argument("--json", action="store_true", help="print the recorded figures as JSON")


def main(args: argparse.Namespace) -> int:
    weights = args.weights or settings.weights_path()
    skipped = SkippedFiles()
    try:
        sha, q = quantize_checkpoint(weights, args.data_dir, args.out, skipped)
    except (WeightsError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if skipped:
            print(skipped.summary(), file=sys.stderr)
    summary = {k: v for k, v in q.items() if k != "ranges"}
    if args.json:
        print(json.dumps({"sha256": sha, **summary}, indent=2))
    else:
        h = q["heldout"]
        print(f"wrote {args.out or weights} (sha256 {sha[:12]}…): int8 on {h['n']} held-out images — AUC "
              f"{h['auc_fp32']:.4f} → {h['auc_int8']:.4f} (change {h['auc_change']:+.4f}), largest probability "
              f"change {h['max_probability_change']:.4f}, {h['decision_flips']} decision(s) flipped")
    return 0
