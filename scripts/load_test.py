"""Many patients at once: N Streamlit sessions, each submitting M consultations through the real page.

The command line of :mod:`testing.load` (where the sessions, the clinicians and the checks are described):

    python scripts/load_test.py [--sessions 8] [--consultations 25] [--clinicians 0] [--database-url URL]
                                [--weights FILE]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from testing.load import run_load  # noqa: E402


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=8, help="concurrent sessions (default 8)")
    parser.add_argument("--consultations", type=int, default=25, help="consultations per session (default 25)")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default: a temporary SQLite file)")
    parser.add_argument("--weights", help="checkpoint (default: a generated GoogLeNet checkpoint)")
    parser.add_argument("--max-seconds", type=float, default=240.0, help="stop submitting after this (default 240)")
    parser.add_argument("--clinicians", type=int, default=0,
                        help="dermatologist sessions working the queue meanwhile (default 0)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="scalpscope-load-") as tmp:
        if args.weights is None:
            from testing.factories import make_checkpoint

            args.weights = str(make_checkpoint(Path(tmp) / "tiny.pt"))
        os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{Path(tmp) / 'load.db'}"
        os.environ["SCALPSCOPE_WEIGHTS"] = args.weights
        os.environ.setdefault("SCALPSCOPE_DEVICE", "cpu")
        os.environ.setdefault("SCALPSCOPE_CACHE_DIR", str(Path(tmp) / "cache"))
        report = run_load(args.sessions, args.consultations, max_seconds=args.max_seconds,
                          clinicians=args.clinicians)
    print(report.summary())
    for line in (report.errors + report.lost + report.mismatched + report.clinician_errors)[:20]:
        print("  " + line)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
