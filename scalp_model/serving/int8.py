"""Int8 inference: ONNX Runtime static quantisation, calibrated on training photos, rebuilt from the checkpoint.

Why: on a 2-core AVX2 CPU the fp32 GoogLeNet is compute-bound (~17 ms a forward pass, about half the
cores' peak); 8-bit kernels run the same network in ~10 ms. Static quantisation needs activation ranges
measured on real photos, and real photos never ship with the code — so ``python -m scalp_model quantize``
stores the measured *ranges* (:mod:`scalp_model.training.quantize`) (a few kB of numbers, no image) in the checkpoint's metadata together with
what int8 changes on the held-out split. The int8 model itself is rebuilt from weights + ranges on first
use and cached like the fp32 export: there is no second model file to keep in sync by hand.

The app runs int8 only when the recorded held-out AUC change is within :data:`AUC_TOLERANCE` (the
speed issue's bar), no held-out decision flips and no probability moves by more than
:data:`MAX_PROBABILITY_CHANGE` (an AUC can stay put while single patients' results change: a model
calibrated with a steep Platt slope, temperature 0.18, moved one probability by 0.68 and flipped 3 of 31
decisions at an AUC change of +0.005); fp32 stays one setting away (``SCALPSCOPE_PRECISION=fp32``).
"""
from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any, Sequence


log = logging.getLogger(__name__)

FORMAT = "onnxruntime-qdq-u8s8-percentile/1"
AUC_TOLERANCE = 0.005
MAX_PROBABILITY_CHANGE = 0.05
PERCENTILE = 99.999
# The head stays fp32: it is a 1024×2 product (no time to gain) and its output is the probability itself.
# GoogLeNet's head node; every architecture names its own (``Architecture.head_nodes``).
EXCLUDED_NODES = ("/fc/Gemm",)
# Guards against a broken build (e.g. ranges recorded for another exporter's tensor names), not a
# statement of accuracy: that is the held-out comparison recorded in the checkpoint.
VERIFY_TOLERANCE = 0.05
MIN_RANGE_COVERAGE = 0.9


class QuantizationUnavailable(RuntimeError):
    """The checkpoint carries no usable calibration for this exporter/runtime; fp32 is used instead."""


def prepared_fp32(model_bytes: bytes) -> bytes:
    """ONNX Runtime's pre-processing (shape inference, BN/activation fusion) before quantising.

    Calibration and quantisation must both start from this graph: the recorded ranges are keyed by its
    tensor names.
    """
    from onnxruntime.quantization import quant_pre_process

    with tempfile.TemporaryDirectory(prefix="scalpscope-q-") as tmp:
        src, dst = Path(tmp) / "fp32.onnx", Path(tmp) / "prepared.onnx"
        src.write_bytes(model_bytes)
        quant_pre_process(str(src), str(dst), skip_symbolic_shape=True)
        return dst.read_bytes()


def build_qdq(prepared: bytes, out: Path, cache: Path, reader: Any, method: Any,
              excluded: Sequence[str] = EXCLUDED_NODES) -> None:
    """Write to ``out`` the QDQ model of ONNX Runtime's ``quantize_static`` with this module's settings.

    ``reader`` (a ``CalibrationDataReader``) measures ranges into ``cache``; ``reader=None`` uses the ranges
    already in ``cache``. ``excluded``: ONNX node names kept fp32 (the architecture's head). Raises :class:`QuantizationUnavailable` for an onnxruntime that cannot do the latter.
    """
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    src = out.with_name("prepared.onnx")
    src.write_bytes(prepared)
    try:
        quantize_static(
            str(src), str(out), reader, quant_format=QuantFormat.QDQ, activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8, per_channel=False, reduce_range=False, calibrate_method=method,
            nodes_to_exclude=list(excluded), calibration_cache_path=str(cache),
            extra_options={"CalibPercentile": PERCENTILE},
        )
    except TypeError as exc:  # an onnxruntime without calibration_cache_path: stay on fp32
        import onnxruntime

        raise QuantizationUnavailable(f"onnxruntime {onnxruntime.__version__} cannot rebuild int8 from stored "
                                      f"ranges ({exc}); it was built with 1.32") from exc


def quantized_model(prepared: bytes, ranges: dict[str, Sequence[float]],
                    excluded: Sequence[str] = EXCLUDED_NODES) -> bytes:
    """The int8 (QDQ) model for recorded ranges, ``excluded`` nodes kept fp32; deterministic for the same graph,
    ranges and exclusions."""
    from onnxruntime.quantization import CalibrationMethod

    names = _tensor_names(prepared)
    coverage = sum(1 for k in ranges if k in names) / max(len(ranges), 1)
    if coverage < MIN_RANGE_COVERAGE:
        raise QuantizationUnavailable(
            f"only {coverage:.0%} of the recorded activation ranges name tensors of this export "
            "(another torch or onnxruntime version?); re-run 'python -m scalp_model quantize'")
    table = {"CLS": "TensorsData", "calibration_method": {"CLS": "CalibrationMethod", "value": "CalibrationMethod.MinMax"},
             "smooth_quant": False,
             "data": {k: {"lowest": float(v[0]), "highest": float(v[1]), "CLS": "TensorData"}
                      for k, v in ranges.items() if k in names}}
    with tempfile.TemporaryDirectory(prefix="scalpscope-q-") as tmp:
        cache, out = Path(tmp) / "ranges.json", Path(tmp) / "int8.onnx"
        cache.write_text(json.dumps(table))
        build_qdq(prepared, out, cache, None, CalibrationMethod.MinMax, excluded)
        return out.read_bytes()


def _tensor_names(model_bytes: bytes) -> set[str]:
    import onnx

    graph = onnx.load_from_string(model_bytes).graph
    names = {i.name for i in graph.input} | {o.name for o in graph.output}
    for node in graph.node:
        names.update(node.output)
    return names


def accepted(quantization: dict[str, Any]) -> tuple[bool, str]:
    """Whether recorded held-out figures allow int8 in the app, and why not."""
    if not quantization.get("ranges"):
        return False, "the checkpoint carries no int8 calibration ('python -m scalp_model quantize' adds one)"
    if quantization.get("format") != FORMAT:
        return False, f"calibration format {quantization.get('format')!r} is not {FORMAT!r}"
    change = (quantization.get("heldout") or {}).get("auc_change")
    if change is None:
        return False, "no held-out AUC change is recorded for int8"
    if abs(change) > AUC_TOLERANCE:
        return False, f"int8 changed the held-out AUC by {change:+.4f} (tolerance {AUC_TOLERANCE})"
    heldout = quantization["heldout"]
    if heldout.get("decision_flips"):
        return False, f"int8 changed {heldout['decision_flips']} held-out decision(s)"
    if (heldout.get("max_probability_change") or 0.0) > MAX_PROBABILITY_CHANGE:
        return False, (f"int8 moved a held-out probability by {heldout['max_probability_change']:.3f} "
                       f"(tolerance {MAX_PROBABILITY_CHANGE})")
    return True, ""
