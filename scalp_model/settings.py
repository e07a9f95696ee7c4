"""Settings of the model core, declared once with their defaults and help.

Values come from the environment so that the CLI, the app and tests share one source; the app may
copy `st.secrets` into the environment before the first call.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_WEIGHTS = REPO_ROOT / "weights" / "scalpscope-googlenet-demo.pt"


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str

    def get(self) -> str:
        return os.environ.get(self.name, self.default)


WEIGHTS = Setting("SCALPSCOPE_WEIGHTS", str(DEFAULT_WEIGHTS), "Path of the model checkpoint (.pt).")
DEVICE = Setting("SCALPSCOPE_DEVICE", "auto", "Inference device: auto (CUDA, then MPS, then CPU), cuda, mps or cpu.")
MAX_UPLOAD_MB = Setting("SCALPSCOPE_MAX_UPLOAD_MB", "20", "Largest accepted image file, in megabytes.")
MAX_PIXELS = Setting("SCALPSCOPE_MAX_PIXELS", "60000000", "Largest accepted image, in pixels (width x height).")
BACKEND = Setting("SCALPSCOPE_BACKEND", "auto", "Inference engine: auto (ONNX Runtime on CPU when available), torch or onnx.")

PRECISION = Setting("SCALPSCOPE_PRECISION", "auto",
                    "CPU arithmetic: auto (int8 where the checkpoint's recorded held-out AUC change is ≤ 0.005), fp32 or int8.")

MAX_LARGE_DECODES = Setting("SCALPSCOPE_MAX_LARGE_DECODES", "1",
                            "Pictures of more than 16 megapixels (after JPEG reduced decoding) decoded at once per "
                            "process; others wait.")

ALL_SETTINGS: tuple[Setting, ...] = (WEIGHTS, DEVICE, MAX_UPLOAD_MB, MAX_PIXELS, BACKEND, PRECISION, MAX_LARGE_DECODES)


def weights_path() -> Path:
    return Path(WEIGHTS.get()).expanduser()


def max_upload_bytes() -> int:
    return int(float(MAX_UPLOAD_MB.get()) * 1024 * 1024)


def max_pixels() -> int:
    return int(MAX_PIXELS.get())


def max_large_decodes() -> int:
    """How many large pictures one process decodes at a time (at least 1)."""
    return max(1, int(MAX_LARGE_DECODES.get()))
