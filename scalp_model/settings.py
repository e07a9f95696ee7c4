"""Settings of the model core, registered with :mod:`config` (name, default, parser, help).

Values come from the environment so that the CLI, the app and tests share one source; the app copies
``st.secrets`` into the environment before the first call. An empty value means unset; a value the parser
refuses raises :class:`config.ConfigurationError` naming the variable.
"""
from __future__ import annotations

from pathlib import Path

from config import Setting, parsers, register

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WEIGHTS = REPO_ROOT / "weights" / "scalpscope-googlenet-demo.pt"

WEIGHTS = register("SCALPSCOPE_WEIGHTS", DEFAULT_WEIGHTS, parsers.PATH, "Path of the model checkpoint (.pt).")
DEVICE = register("SCALPSCOPE_DEVICE", "auto", parsers.choice("auto", "cpu", "cuda", "mps", prefixes=("cuda:",)),
                  "Inference device: auto (CUDA, then MPS, then CPU), cuda, mps or cpu.")
MAX_UPLOAD_MB = register("SCALPSCOPE_MAX_UPLOAD_MB", 20.0, parsers.POSITIVE_NUMBER,
                         "Largest accepted image file, in megabytes.")
MAX_PIXELS = register("SCALPSCOPE_MAX_PIXELS", 60_000_000, parsers.POSITIVE_INTEGER,
                      "Largest accepted image, in pixels (width x height).")
BACKEND = register("SCALPSCOPE_BACKEND", "auto", parsers.choice("auto", "torch", "onnx"),
                   "Inference engine: auto (ONNX Runtime on CPU when available), torch or onnx.")
PRECISION = register("SCALPSCOPE_PRECISION", "auto", parsers.choice("auto", "fp32", "int8"),
                     "CPU arithmetic: auto (int8 where the checkpoint's recorded held-out figures pass: AUC change "
                     "≤ 0.005, no decision flipped, no probability moved by more than 0.05), "
                     "fp32 or int8.")
MAX_LARGE_DECODES = register("SCALPSCOPE_MAX_LARGE_DECODES", 1, parsers.POSITIVE_INTEGER,
                             "Pictures of more than 16 megapixels (after JPEG reduced decoding) decoded at once per "
                             "process; others wait.")
CACHE_DIR = register("SCALPSCOPE_CACHE_DIR", Path("~/.cache/scalpscope").expanduser(), parsers.PATH,
                     "Where verified ONNX exports (fp32, int8) are cached, by checkpoint sha256.")

ALL_SETTINGS: tuple[Setting, ...] = (WEIGHTS, DEVICE, MAX_UPLOAD_MB, MAX_PIXELS, BACKEND, PRECISION, MAX_LARGE_DECODES,
                                     CACHE_DIR)


def weights_path() -> Path:
    """The checkpoint ``SCALPSCOPE_WEIGHTS`` names (default: the shipped demo checkpoint)."""
    return WEIGHTS.get()


def max_upload_bytes() -> int:
    """``SCALPSCOPE_MAX_UPLOAD_MB`` in bytes."""
    return int(MAX_UPLOAD_MB.get() * 1024 * 1024)


def max_pixels() -> int:
    """``SCALPSCOPE_MAX_PIXELS``: the largest accepted width x height."""
    return MAX_PIXELS.get()


def max_large_decodes() -> int:
    """How many large pictures one process decodes at a time (at least 1)."""
    return MAX_LARGE_DECODES.get()


def cache_dir() -> Path:
    """``SCALPSCOPE_CACHE_DIR`` (default ``~/.cache/scalpscope``), read on every call."""
    return CACHE_DIR.get()
