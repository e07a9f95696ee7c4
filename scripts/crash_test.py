"""Crash test: SIGKILL the processes that write to the database at random moments, and check it each time.

Two writers share one temporary SQLite file, as in production:

* ``streamlit run app.py`` on a free 127.0.0.1 port, fed by a headless Chromium that submits consultations
  through the New consultation page (``--browser-driver``), and
* a driver process (``--writer``) that submits consultations and reviews through the very functions the
  pages call (``clinic.read_photo``, ``clinic.submit.analyse``, ``db.consultations.submit_consultation``, ``claim``,
  ``record_review``), announcing each transaction from inside it so that it can be killed mid-way.

Each round kills one of them with SIGKILL (alternately the driver, inside a transaction, and the server,
while the browser's submission is in flight), restarts it, and then checks the database:
``PRAGMA integrity_check`` and ``foreign_key_check`` pass; no image without its consultation, no
prediction without its image, no consultation without images or without its submit event; and every
consultation whose access code was shown (the driver prints a code only after ``commit`` returned, the
browser reads it off the page) is there, complete, with a prediction for each image. Every review that
was reported committed is there too. At the end the server's log must not contain a shown code or a
patient's free text.

    python scripts/crash_test.py [--kills 20] [--seed N] [--no-browser] [--max-seconds 900]

This file is the command line; the writer, the browser driver, the checks and the rounds are in
``scripts/crashtest/``.

SIGKILL is a process crash; the operating system still writes what SQLite handed it. Power loss is
another matter (``synchronous=NORMAL`` in WAL mode may lose the last commits then, never consistency).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from scripts.crashtest.browser import run_browser_driver  # noqa: E402
from scripts.crashtest.controller import controller  # noqa: E402
from scripts.crashtest.writer import run_writer  # noqa: E402


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs to deal (default 20)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock, printed)")
    parser.add_argument("--no-browser", action="store_true", help="no Chromium: only the driver process writes")
    parser.add_argument("--max-seconds", type=float, default=900.0, help="give up after this long (default 900)")
    parser.add_argument("--weights", help="checkpoint (default: a generated GoogLeNet checkpoint)")
    parser.add_argument("--workdir", help="keep the database and logs here (default: a temporary folder)")
    parser.add_argument("--writer", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--browser-driver", nargs=2, metavar=("URL", "PHOTO"), help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time()) % 100_000
    if args.writer:
        run_writer(seed)
        return 0
    if args.browser_driver:
        run_browser_driver(args.browser_driver[0], Path(args.browser_driver[1]), args.max_seconds)
        return 0
    from testing.live import CHROMIUM

    browser = not args.no_browser and CHROMIUM.exists()
    if args.workdir:
        workdir = Path(args.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
        return controller(args.kills, seed, browser, args.max_seconds, workdir, args.weights)
    with tempfile.TemporaryDirectory(prefix="scalpscope-crash-") as tmp:
        return controller(args.kills, seed, browser, args.max_seconds, Path(tmp), args.weights)


if __name__ == "__main__":
    sys.exit(main())
