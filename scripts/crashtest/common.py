"""What the crash test's processes share: the repository, the writer's settings, and line-by-line output."""
from __future__ import annotations

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "crash_test.py"  # the children run it with --writer / --browser-driver

WRITER_USER = "crash-test-writer"
FREE_TEXT = "crash-test history: itchy since the move to Lyon"  # must never reach a log
WRITER_PHOTOS = 3
WRITER_PHOTO_SIZE = (480, 360)  # with its overlay PNG ~0.3 MB a photo: the database stays small
WRITER_PAUSE_S = (0.2, 0.8)  # between transactions, as patients arrive; also bounds the database's growth


def say(*parts: object) -> None:
    """One line on stdout, flushed at once (the controller reads it as it comes)."""
    sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
    sys.stdout.flush()
