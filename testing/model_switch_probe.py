"""An app process for the model-switch tests (issue 20): asks ``pages._resources`` for the predictor as a page
does, every 0.1 s, and prints one JSON line each time the served version changes: the registry's active version
the process sees and when (``time.time()``), and the version a fresh prediction carries and when. Exits once it has seen every
version named in ``--expect`` in that order, or after ``--timeout`` seconds (exit 1)."""
from __future__ import annotations

import argparse
import json
import sys
import time

from PIL import Image


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--expect", required=True, help="versions in the order they should be served, comma-separated")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    from pages import _resources as res
    from testing.factories import photo_array

    picture = Image.fromarray(photo_array(96, 72))
    expected = args.expect.split(",")
    deadline, last = time.monotonic() + args.timeout, None
    while expected and time.monotonic() < deadline:
        serving = res.serving_model()
        seen = serving.entry.version if serving.entry else None
        if seen != last:
            seen_at = time.time()
            predicted = res.get_predictor().predict(picture).model_version
            print(json.dumps({"active": seen, "predicted": predicted, "seen_at": seen_at, "served_at": time.time()}),
                  flush=True)
            last = seen
            if expected and predicted == expected[0]:
                expected.pop(0)
        time.sleep(0.1)
    return 0 if not expected else 1


if __name__ == "__main__":
    sys.exit(main())
