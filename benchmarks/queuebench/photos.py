"""What a consultation really stores: real photos through the app's storage path, and the estimate per
consultation that the demo rows (small 96x72 images) cannot give."""
from __future__ import annotations

import io
import statistics
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def _jet(x: np.ndarray) -> np.ndarray:
    return np.clip(np.stack([1.5 - np.abs(4 * x - 3), 1.5 - np.abs(4 * x - 2), 1.5 - np.abs(4 * x - 1)], -1), 0, 1)


def _smooth_cam(rng: np.random.Generator) -> np.ndarray:
    """A Grad-CAM-like map: a few smooth blobs on a 7x7 grid (GoogLeNet's last block), min-max scaled."""
    yy, xx = np.mgrid[0:7, 0:7].astype(np.float32)
    cam = sum(np.exp(-((xx - rng.uniform(1, 5)) ** 2 + (yy - rng.uniform(1, 5)) ** 2) / 3.0) for _ in range(3))
    return ((cam - cam.min()) / (cam.max() - cam.min())).astype(np.float32)


def realistic_sizes(photos: list[Path]) -> dict[str, Any]:
    """Stored bytes for real photos put through the app's storage path (clinic.photos.read_photo):
    the sanitised JPEG (decode at up to 2048 px, re-encode q90) and the overlay PNG at the 512 px working size.
    Uses scalp_model's own functions when importable, else an equivalent of them (noted in ``pipeline``)."""
    rng = np.random.default_rng(0)
    try:
        from scalp_model.serving.cam import overlay_png
        from scalp_model.serving.preprocess import decode_image, sanitized_bytes

        pipeline = "scalp_model.serving.preprocess.sanitized_bytes + scalp_model.serving.cam.overlay_png"
    except Exception as exc:  # noqa: BLE001 - optional here: any failure to import scalp_model means "use the equivalent"
        pipeline = f"equivalent of scalp_model (import failed: {type(exc).__name__})"
        decode_image = sanitized_bytes = overlay_png = None  # type: ignore[assignment]
    rows = []
    for path in photos:
        data = path.read_bytes()
        if decode_image is not None:
            stored = decode_image(data, working_size=2048, max_bytes=64 << 20, max_pixels=200_000_000).image
            jpeg, _ = sanitized_bytes(stored)
            working = decode_image(data, max_bytes=64 << 20, max_pixels=200_000_000).image
            png = overlay_png(working, _smooth_cam(rng))
            size = stored.size
        else:
            with Image.open(path) as img:
                img = img.convert("RGB")
                stored = img.copy()
                stored.thumbnail((2048, 2048), Image.Resampling.LANCZOS)
                buffer = io.BytesIO()
                stored.save(buffer, format="JPEG", quality=90, optimize=True)
                jpeg = buffer.getvalue()
                working = img.copy()
                working.thumbnail((512, 512), Image.Resampling.BILINEAR)
            rgb = np.asarray(working, dtype=np.float32) / 255
            cam = np.asarray(Image.fromarray(_smooth_cam(rng)).resize(working.size, Image.Resampling.BILINEAR))
            blended = (np.clip(0.55 * rgb + 0.45 * _jet(cam), 0, 1) * 255).astype(np.uint8)
            buffer = io.BytesIO()
            Image.fromarray(blended).save(buffer, format="PNG")
            png = buffer.getvalue()
            size = stored.size
        rows.append(
            {"photo": path.name, "stored_px": list(size), "jpeg_bytes": len(jpeg), "overlay_png_bytes": len(png)}
        )
    return {"pipeline": pipeline, "photos": rows}


def default_photos() -> list[Path]:
    """The largest real JPEGs in ../shared/data (>= 2048 px long side preferred), if that folder exists."""
    if not SHARED_DATA.is_dir():
        return []
    found = []
    for path in SHARED_DATA.rglob("*.jp*g"):
        try:
            with Image.open(path) as img:
                found.append((max(img.size), path))
        except OSError:
            continue
    found.sort(reverse=True)
    return [p for _, p in found[:3]]


def realistic_estimate(realistic: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-consultation size: the largest run's measured row/index overhead plus the real photos' bytes."""
    largest = max(runs, key=lambda r: (r["size"], r["backend"] == "sqlite"))
    per_image = statistics.mean(p["jpeg_bytes"] + p["overlay_png_bytes"] for p in realistic["photos"])
    overhead = largest["overhead_bytes_per_consultation"]
    ipc = largest["images_per_consultation"]
    return {
        "images_per_consultation": ipc,
        "photo_kb": per_image / 1024,
        "overhead_kb": overhead / 1024,
        "overhead_from": f"{'SQLite' if largest['backend'] == 'sqlite' else 'PostgreSQL'} {largest['size']:,}",
        "kb_per_consultation": (overhead + ipc * per_image) / 1024,
        "kb_1_photo": (overhead + per_image) / 1024,
        "kb_3_photos": (overhead + 3 * per_image) / 1024,
        "gb_per_100k": (overhead + ipc * per_image) * 100_000 / 1024**3,
    }
