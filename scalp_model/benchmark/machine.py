"""The machine the figures come from, resident memory, and the cold start of a fresh process."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

from .. import settings


def rss_mb() -> float:
    """This process's resident memory (MB): ``VmRSS``, or the peak where ``/proc`` is missing."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cold_start(weights: Path | None) -> dict[str, float]:
    """A fresh interpreter: import, load the checkpoint, first result with its map."""
    code = (
        "import time,sys; t=time.perf_counter();"
        "from scalp_model.serving.predictor import Predictor; from scalp_model.benchmark.photos import generated_photo;"
        "from scalp_model.benchmark.machine import rss_mb;"
        f"p=Predictor.from_path({str(weights) if weights else None!r}); a=p.analyze_bytes(generated_photo(720,480,0));"
        "a.overlay_png(); print(time.perf_counter()-t, rss_mb())"
    )
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=settings.REPO_ROOT,
                         timeout=300, check=True)
    wall = time.perf_counter() - t0
    inner, rss = (float(v) for v in out.stdout.split()[-2:])
    return {"process_wall_s": wall, "import_load_first_result_s": inner, "rss_mb": rss}


def machine() -> dict[str, object]:
    """CPU model, cores, torch threads and version, CUDA device if any."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}
