"""Int8 calibration and acceptance (training side of ``python -m scalp_model quantize``).

Calibration uses the checkpoint's own training split (never a held-out image); the comparison with fp32
uses validation + test, the group-held-out images. The ranges and the figures are written into the
checkpoint's metadata and card; :mod:`scalp_model.serving.int8` rebuilds the int8 model from them on first
use and :func:`scalp_model.serving.int8.accepted` decides whether the app may use it.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from ..serving.checkpoint import POSITIVE_CLASS, Checkpoint, load_checkpoint, save_checkpoint
from ..serving.int8 import EXCLUDED_NODES, build_qdq
from ..serving.preprocess import model_input
from .card import write_card
from .data import SkippedFiles, load_image, readable_samples, scan_dataset, select

if TYPE_CHECKING:
    from ..serving.engine import Engine


def _reader(batches: Iterable[np.ndarray]) -> Any:
    """A ``CalibrationDataReader`` over model-input arrays (N, 3, H, W), one image at a time."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):  # ORT checks the base class; defined here to import ORT lazily
        def __init__(self) -> None:
            self._items = (x[i:i + 1] for x in batches for i in range(len(x)))

        def get_next(self) -> dict[str, np.ndarray] | None:
            item = next(self._items, None)
            return None if item is None else {"input": np.ascontiguousarray(item, dtype=np.float32)}

    return Reader()


def calibrate_ranges(prepared: bytes, batches: Iterable[np.ndarray],
                     excluded: Sequence[str] = EXCLUDED_NODES) -> dict[str, list[float]]:
    """Per-tensor activation ranges (percentile of a histogram) over the given model inputs; ``excluded`` nodes
    (the architecture's head) stay fp32."""
    from onnxruntime.quantization import CalibrationMethod

    with tempfile.TemporaryDirectory(prefix="scalpscope-q-") as tmp:
        cache = Path(tmp) / "ranges.json"
        build_qdq(prepared, Path(tmp) / "int8.onnx", cache, _reader(batches), CalibrationMethod.Percentile, excluded)
        raw = json.loads(cache.read_text())
    ranges = {}
    for name, entry in raw["data"].items():
        lo, hi = (float(np.asarray(_plain(entry[k])).reshape(-1)[0]) for k in ("lowest", "highest"))
        ranges[name] = [lo, hi]
    if not ranges:
        raise RuntimeError("calibration produced no activation ranges")
    return ranges


def _plain(value: Any) -> Any:
    return value["data"] if isinstance(value, dict) and "data" in value else value


def agreement(labels: np.ndarray, p_fp32: np.ndarray, p_int8: np.ndarray, threshold: float) -> dict[str, Any]:
    """What int8 changes on labelled images: AUC, the largest probability shift, flipped decisions."""
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels)
    both = len(set(labels.tolist())) == 2
    auc32 = float(roc_auc_score(labels, p_fp32)) if both else None
    auc8 = float(roc_auc_score(labels, p_int8)) if both else None
    return {
        "n": int(len(labels)),
        "auc_fp32": auc32, "auc_int8": auc8,
        "auc_change": None if auc32 is None else auc8 - auc32,
        "max_probability_change": float(np.abs(np.asarray(p_fp32) - np.asarray(p_int8)).max()),
        "decision_flips": int(((np.asarray(p_fp32) >= threshold) != (np.asarray(p_int8) >= threshold)).sum()),
    }


def _inputs(ckpt: Checkpoint, data_dir: Path, samples: Sequence) -> np.ndarray:
    m = ckpt.meta
    return np.stack([model_input(load_image(data_dir, s.file), m.input_size, m.mean, m.std) for s in samples])


def measure(ckpt: Checkpoint, data_dir: Path, skipped: SkippedFiles | None = None) -> dict[str, Any]:
    """Calibrate on the training split, compare fp32 and int8 on the held-out splits.

    Hidden and system files are never read; a split file that cannot be decoded is left out and recorded
    in ``skipped`` (a split file that is not there at all is an error: the folder is not the training folder).
    """
    import onnxruntime
    import torch

    from ..serving.engine import OnnxEngine, export_onnx
    from ..serving.architectures import get_architecture
    from ..serving.int8 import FORMAT, PERCENTILE, prepared_fp32, quantized_model

    meta = ckpt.meta
    split = (meta.training or {}).get("split") or {}
    if not all(split.get(k) for k in ("train", "val", "test")):
        raise ValueError("the checkpoint records no train/val/test split; quantize checkpoints made by 'train'")
    skipped = SkippedFiles() if skipped is None else skipped
    train = select(scan_dataset(data_dir, meta.class_names, skipped), split["train"])
    if len(train) != len(split["train"]):
        raise FileNotFoundError(f"{len(split['train']) - len(train)} training files of the checkpoint's split "
                                f"are missing from {data_dir}")
    train = readable_samples(data_dir, train, skipped)
    if not train:
        raise FileNotFoundError(f"none of the checkpoint's training files in {data_dir} can be read")

    head = get_architecture(meta.architecture).head_nodes
    fp32_bytes = export_onnx(ckpt.model)
    prepared = prepared_fp32(fp32_bytes)
    ranges = calibrate_ranges(prepared, [_inputs(ckpt, data_dir, train)], head)
    fp32, int8 = OnnxEngine(fp32_bytes), OnnxEngine(quantized_model(prepared, ranges, head), name="onnxruntime-cpu-int8")

    heldout, test = compare(ckpt, data_dir, fp32, int8, skipped)
    return {
        "format": FORMAT,
        "method": f"ONNX Runtime static quantisation, QDQ, uint8 activations / int8 weights per tensor, "
                  f"activation ranges at the {PERCENTILE} percentile; head ({', '.join(head)}) kept fp32",
        "calibration": {"split": "train", "images": len(train)},
        "onnxruntime": str(onnxruntime.__version__), "torch": str(torch.__version__),
        "heldout": heldout, "test": test,
        "ranges": ranges,
    }


def compare(ckpt: Checkpoint, data_dir: Path, fp32: "Engine", int8: "Engine",
            skipped: SkippedFiles | None = None) -> tuple[dict, dict]:
    """(val+test, test) agreement of two engines on the checkpoint's recorded held-out images (unreadable
    ones left out and recorded in ``skipped``)."""
    from ..serving.ood import gate_scores

    meta = ckpt.meta
    split = (meta.training or {}).get("split") or {}
    skipped = SkippedFiles() if skipped is None else skipped
    samples = scan_dataset(data_dir, meta.class_names, SkippedFiles())  # hidden files: counted by the caller
    val, test = select(samples, split.get("val", [])), select(samples, split.get("test", []))
    if not test or len(val) + len(test) != len(split.get("val", [])) + len(split.get("test", [])):
        raise FileNotFoundError(f"the checkpoint's held-out images are not all in {data_dir}")
    val, test = readable_samples(data_dir, val, skipped), readable_samples(data_dir, test, skipped)
    if not test:
        raise FileNotFoundError(f"none of the checkpoint's test files in {data_dir} can be read")
    positive = meta.class_names.index(POSITIVE_CLASS)
    heldout = val + test
    x = _inputs(ckpt, data_dir, heldout)
    labels = np.array([1 if s.label == positive else 0 for s in heldout])
    (l32, f32, m32), (l8, f8, m8) = fp32.run(x), int8.run(x)
    p32, p8 = meta.positive_probabilities(l32), meta.positive_probabilities(l8)
    report = agreement(labels, p32, p8, meta.threshold)
    report["split"] = "val+test"
    report["map_correlation_min"] = float(min(np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(m32, m8)))
    if ckpt.ood_state and meta.ood_threshold is not None:
        g32, g8 = gate_scores(f32, ckpt.ood_state), gate_scores(f8, ckpt.ood_state)
        report["out_of_scope_flips"] = int(((g32 > meta.ood_threshold) != (g8 > meta.ood_threshold)).sum())
    n = len(val)
    return _rounded(report), _rounded(agreement(labels[n:], p32[n:], p8[n:], meta.threshold))


def _rounded(d: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in d.items()}


def quantize_checkpoint(weights: Path, data_dir: Path, out: Path | None = None,
                        skipped: SkippedFiles | None = None) -> tuple[str, dict[str, Any]]:
    """Measure, then write the checkpoint (atomically) and its card; returns (sha256, quantization).

    Files left out (hidden, system or unreadable) are recorded in ``skipped``.
    """
    ckpt = load_checkpoint(weights)
    quantization = measure(ckpt, Path(data_dir), skipped)
    meta = replace(ckpt.meta, quantization=quantization)
    target = Path(out or weights)
    sha = save_checkpoint(target, ckpt.model, meta, ckpt.ood_state)
    write_card(target, meta, sha)
    load_checkpoint(target)
    return sha, quantization
