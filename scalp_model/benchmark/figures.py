"""The bench's figure groups, each a function of the predictor, the naive reference and the inputs.

Times are means (and standard deviations) of repeated calls; ``speedup`` is the reference's time over ours.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..serving.engine import OnnxEngine, TorchEngine
from ..serving.predictor import Predictor
from ..serving.preprocess import decode_image, model_input
from .photos import SHARED_SCALP, generated_photo, phone_photo
from .reference import NaiveReference
from .timing import time_calls

PAPER = {"per_image_s": 0.0488, "set_136_s": 2.22, "machine": "Intel i3-8100, 4 cores (Yu et al. 2022, Table 1)"}


def fp32_engine(predictor: Predictor) -> object:
    """The fp32 engine of the same kind: the predictor's own unless it runs int8."""
    if predictor.engine.name.endswith("int8"):
        return OnnxEngine.for_checkpoint(predictor.model, predictor.sha256)
    return predictor.engine


def model_tensor(predictor: Predictor, data: bytes) -> np.ndarray:
    """The (1, 3, 224, 224) standardised model input of one photo's file bytes, as the app makes it."""
    m = predictor.meta
    return model_input(decode_image(data).image, 224, m.mean, m.std)[None]


def agreement(predictor: Predictor, reference: NaiveReference, images: list[bytes], fp32: object) -> dict[str, float]:
    """Largest probability difference from the reference, same weights: on identical input tensors (the
    engine), and end to end from file bytes (adds the reduced-size JPEG decode and the resize from working size)."""
    tensors = [reference.tensor(d) for d in images[:32]]
    ref_same = np.concatenate([reference.forward(t) for t in tensors])

    def same_input(engine: object) -> float:
        ours = np.concatenate([predictor.probabilities(engine.run(t.numpy())[0]) for t in tensors])
        return float(np.abs(ours - ref_same).max())

    ours_e2e = np.array([predictor.analyze_bytes(d).prediction.p_psoriasis for d in images[:32]])
    out = {"same_input": same_input(predictor.engine), "end_to_end": float(np.abs(ours_e2e - ref_same).max())}
    if fp32 is not predictor.engine:
        out["same_input_fp32_engine"] = same_input(fp32)
    return out


def int8_figures(predictor: Predictor, fp32: object, images: Path | None) -> dict[str, object]:
    """What int8 changes: as recorded in the checkpoint, and re-measured now where the held-out photos are here."""
    from ..training.quantize import compare

    recorded = {k: predictor.meta.quantization.get(k) for k in ("heldout", "test")}
    out: dict[str, object] = {"recorded": recorded}
    data_dir = images or SHARED_SCALP
    try:
        heldout, test = compare(predictor.checkpoint, data_dir, fp32, predictor.engine)
        out["measured"] = {"data": str(data_dir), "heldout": heldout, "test": test}
    except (FileNotFoundError, OSError, ValueError) as exc:
        out["measured"] = {"skipped": str(exc)}
    return out


def forward(predictor: Predictor, reference: NaiveReference, x: np.ndarray, fp32: object, runs: int) -> dict[str, float]:
    """Forward pass, batch 1, same input tensor (ms); also the fp32 ONNX and eager torch engines where they differ."""
    xt = torch.from_numpy(x)
    ours = time_calls(lambda: predictor.engine.run(x), runs)
    ref = time_calls(lambda: reference.forward(xt), runs)
    out = {"ours": ours["mean"] * 1e3, "ours_sd": ours["sd"] * 1e3, "reference": ref["mean"] * 1e3,
           "reference_sd": ref["sd"] * 1e3, "speedup": ref["mean"] / ours["mean"]}
    if fp32 is not predictor.engine:
        out["onnx_fp32"] = time_calls(lambda: fp32.run(x), runs)["mean"] * 1e3
    if isinstance(predictor.engine, OnnxEngine):
        eager = TorchEngine(predictor.model, torch.device("cpu"))
        out["torch_channels_last"] = time_calls(lambda: eager.run(x), runs)["mean"] * 1e3
    return out


def per_image(predictor: Predictor, reference: NaiveReference, one: bytes, runs: int) -> dict[str, float]:
    """Table 1, one image: file bytes → probability (s); ours also gives the map and quality report."""
    ours = time_calls(lambda: predictor.analyze_bytes(one), runs)
    ref = time_calls(lambda: reference.predict_bytes(one), runs)
    return {"ours": ours["mean"], "ours_sd": ours["sd"], "reference": ref["mean"], "reference_sd": ref["sd"],
            "speedup": ref["mean"] / ours["mean"], "paper": PAPER["per_image_s"]}


def image_set(predictor: Predictor, reference: NaiveReference, images: list[bytes], runs: int) -> dict[str, float]:
    """Table 1, the whole set: bytes → probabilities (s), as the CLI runs a folder (batches of 16 with maps and
    quality reports; the next batch is decoded while the engine runs this one)."""
    def ours_set() -> None:
        for item in predictor.analyze_many(images):
            if isinstance(item, Exception):
                raise item

    ours = time_calls(ours_set, runs, warmup=1)
    ref = time_calls(lambda: [reference.predict_bytes(d) for d in images], runs, warmup=1)
    return {"n_images": len(images), "ours": ours["mean"], "ours_sd": ours["sd"], "reference": ref["mean"],
            "reference_sd": ref["sd"], "speedup": ref["mean"] / ours["mean"], "paper": PAPER["set_136_s"]}


def decoding(predictor: Predictor, reference: NaiveReference, images: list[bytes], runs: int) -> dict[str, dict]:
    """Decoding a 12-megapixel phone JPEG and resizing to the model input (ms): a photo-like one (what a phone
    sends; its full decode costs ~100 ms) and a sensor-noise-heavy worst case."""
    photos = {"decode_12mp_ms": phone_photo(images), "decode_12mp_noisy_ms": (
        generated_photo(4000, 3000, 7), "generated, noise σ=12 (worst case for entropy decoding)")}
    out = {}
    for key, (big, what) in photos.items():
        ours = time_calls(lambda: model_tensor(predictor, big), max(5, runs // 3))
        ref = time_calls(lambda: reference.tensor(big), max(5, runs // 3))
        out[key] = {"ours": ours["mean"] * 1e3, "reference": ref["mean"] * 1e3, "speedup": ref["mean"] / ours["mean"],
                    "file_mb": len(big) / 1e6, "image": what}
    return out


def cuda_figures(predictor: Predictor, x: np.ndarray, runs: int) -> dict[str, float]:
    """Eager torch on the GPU: forward pass (ms) and the 136-image set as one batch (s)."""
    engine = TorchEngine(predictor.model, torch.device("cuda"))

    def step() -> None:
        engine.run(x)
        torch.cuda.synchronize()

    out = {"device": torch.cuda.get_device_name(0), "forward_ms": time_calls(step, runs)["mean"] * 1e3}
    batch = np.repeat(x, 136, axis=0)
    out["set_136_forward_s"] = time_calls(lambda: (engine.run(batch), torch.cuda.synchronize()),
                                          max(3, runs // 5))["mean"]
    predictor.model.cpu()
    return out
