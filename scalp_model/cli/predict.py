"""``predict PATH...``: one JSON line per image; a bad file gets an error line, the rest go on.

A PATH that is a folder stands for every picture in it (sub-folders included); hidden and system files
there are left out and counted on stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Iterator

from .. import settings
from ..training.data import SkippedFiles, folder_images
from ..errors import ScalpScopeError, WeightsError
from ..serving.predictor import Predictor


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                        help="image files (JPEG, PNG, HEIC, ...) or folders of them")
    parser.add_argument("--json", action="store_true", help="print JSON lines (default: a readable line per image)")
    parser.add_argument("--cam", type=Path, metavar="DIR", help="write one Grad-CAM overlay PNG per image into DIR")
    parser.add_argument("--weights", type=Path, default=None, help=f"checkpoint (default: ${settings.WEIGHTS.name} "
                        f"or {settings.DEFAULT_WEIGHTS.relative_to(settings.REPO_ROOT)})")
    parser.add_argument("--device", default=None, help="auto, cpu, cuda or mps (default: $SCALPSCOPE_DEVICE or auto)")


def _describe(record: dict) -> str:
    if "error" in record:
        return f"{record['path']}: ERROR {record['error']}"
    flags = [f for f in ("uncertain", "out_of_scope") if record.get(f)]
    return (f"{record['path']}: {record['label']} (p_psoriasis={record['p_psoriasis']:.3f}, "
            f"threshold={record['threshold']:.3f}){' ' + ', '.join(flags) if flags else ''}")


def _read_all(paths: list[Path]) -> Iterator[bytes | OSError]:
    for path in paths:
        try:
            yield path.read_bytes()
        except OSError as exc:
            yield exc


def expand_paths(paths: list[Path], skipped: SkippedFiles) -> list[Path]:
    """Files as given; each folder replaced by its visible pictures (hidden and system files go to ``skipped``)."""
    out: list[Path] = []
    for path in paths:
        out += folder_images(path, skipped) if path.is_dir() else [path]
    return out


def main(args: argparse.Namespace) -> int:
    try:
        predictor = Predictor.from_path(args.weights, device=args.device)
    except WeightsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    if args.cam:
        args.cam.mkdir(parents=True, exist_ok=True)
    skipped = SkippedFiles()
    paths = expand_paths(list(args.paths), skipped)
    if skipped:
        print(skipped.summary(), file=sys.stderr)
    failures = 0
    for index, (path, analysis) in enumerate(zip(paths, predictor.analyze_many(_read_all(paths)))):
        record: dict = {"path": str(path)}
        try:
            if isinstance(analysis, Exception):
                raise analysis
            record.update(analysis.prediction.to_dict())
            record["quality"] = analysis.quality.to_dict()
            if args.cam:
                out = args.cam / f"{index:03d}_{path.stem}_cam.png"
                out.write_bytes(analysis.overlay_png())
                record["cam"] = str(out)
        except (ScalpScopeError, OSError) as exc:
            failures += 1
            record["error"] = str(exc) if isinstance(exc, ScalpScopeError) else f"cannot read file: {exc.strerror}"
        print(json.dumps(record) if args.json else _describe(record), flush=True)
    if failures:
        print(f"{failures} of {len(paths)} file(s) could not be read (named above)", file=sys.stderr)
    return 1 if failures else 0
